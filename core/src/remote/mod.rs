//! The remote link's groundwork (issue 15; docs/REMOTE.md): what a relay at each end of a
//! private segment sends over the network, and how much it may have in flight.
//!
//! Nothing here talks to the network yet: the relays that use these pieces, and zenoh, come
//! with the rest of the issue. Built only with the `zenoh` feature.

// The relays that call these are not written yet (docs/REMOTE.md, "Status").
#![allow(dead_code)]

pub(crate) mod answer;
pub(crate) mod calls;
pub(crate) mod flow;
pub(crate) mod frame;
