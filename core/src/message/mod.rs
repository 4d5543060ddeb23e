//! Messages: what travels in one ring frame, both ways.
//!
//! ```text
//!  frame tag = Kind            frame meta = request id (or 0)
//!  payload:  +----------------------------+---------------------+-----+------------------+
//!            | Envelope (32 bytes, LE)    | channel (UTF-8)     | pad | body             |
//!            +----------------------------+---------------------+-----+------------------+
//!                                                               16-byte aligned ^
//! ```
//!
//! The body ([`body`]) is `Value` arguments in the wire format, or one rkyv archive of a typed
//! channel; the envelope names which (its codec byte) and the channel's schema fingerprint.
//!
//! Data flows one way through these files: [`kind`] (what a message is, its flags and the
//! protocol's limits), [`envelope`] (the fixed header), [`body`] (what follows the channel
//! name, both ways), [`encode`] (size a message once, then
//! write it), [`reply`] (the answer format both ends share, and where an answer goes), and
//! [`decode`]: the one decoder of what a renderer sent (main's dispatcher, the fuzz targets
//! and the `hostile_decode` test all run it) and the renderer's decoder of what main sent.
//! Nothing a renderer writes is used before [`decode`] validated it.

pub(crate) mod body;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod envelope;
pub(crate) mod kind;
pub(crate) mod ports;
pub(crate) mod reply;
