//! The saved-reply search index, rebuilt only when the library changed (any replica's change
//! bumps the stored revision), so a lookup is one cheap query plus an in-memory search.

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::core::saved_reply::SearchIndex;
use crate::store::DynStore;

#[derive(Default)]
pub struct SavedReplies {
    cache: Mutex<Option<(i64, Arc<SearchIndex>)>>,
}

impl SavedReplies {
    pub async fn index(&self, store: &DynStore) -> anyhow::Result<Arc<SearchIndex>> {
        let revision = store.saved_replies_revision().await?;
        let mut cache = self.cache.lock().await;
        if let Some((rev, index)) = cache.as_ref()
            && *rev == revision
        {
            return Ok(index.clone());
        }
        let index = Arc::new(SearchIndex::new(store.saved_replies().await?));
        *cache = Some((revision, index.clone()));
        Ok(index)
    }
}
