//! The tag-suggestion model, built from the store's learned taggings and kept for a short
//! while: every new ticket asks it, and reading and building it each time cost two reads of
//! whole tables and a model build per ticket.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::core::tags::TagModel;
use crate::store::DynStore;

/// How long a built model is used before it is read again. Taggings this process records
/// drop it at once ([`TagSuggestions::forget`]); another replica's show within this time.
const MODEL_FRESH_FOR: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct TagSuggestions {
    cache: Mutex<Option<(Instant, Arc<TagModel>)>>,
}

impl TagSuggestions {
    /// The model as of at most [`MODEL_FRESH_FOR`] ago.
    pub async fn model(&self, store: &DynStore) -> anyhow::Result<Arc<TagModel>> {
        let mut cache = self.cache.lock().await;
        if let Some((at, model)) = cache.as_ref()
            && at.elapsed() < MODEL_FRESH_FOR
        {
            return Ok(model.clone());
        }
        let model = Arc::new(TagModel::new(&store.tag_model().await?));
        *cache = Some((Instant::now(), model.clone()));
        Ok(model)
    }

    /// A tagging was recorded: the next ticket reads the model again.
    pub async fn forget(&self) {
        *self.cache.lock().await = None;
    }
}
