//! Messenger, Instagram, WhatsApp and Page mention parsing, against realistic fixtures.

use super::*;
