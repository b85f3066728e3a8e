//! See main.rs for the scope of this module.

#[allow(unused_imports)]
use crate::common;
