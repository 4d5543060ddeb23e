//! What a message is ([`Kind`], carried in the frame tag), its envelope flags, and the
//! protocol's limits, which both sides check: the sender refuses what the receiver would
//! reject, so a well-behaved renderer is never disconnected for input its own API accepted.

/// What a message is. Carried in the frame tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub(crate) enum Kind {
    // renderer -> main
    /// `ipcRenderer.send`.
    Send = 1,
    /// `ipcRenderer.sendSync`: reply into the slot named by the envelope.
    SendSync = 2,
    /// `ipcRenderer.invoke`: reply into the slot (blocking and async), or as a `Reply`
    /// message (an async invoke that found no free slot).
    Invoke = 3,
    /// A renderer handler's answer to main's `WebContents::invoke`.
    HandlerReply = 4,
    /// A frame came into being (so `send_to_frame` knows it).
    FrameOpen = 5,
    // main -> renderer
    /// `webContents.send` / `event.reply` / `send_to_frame`.
    Message = 16,
    /// A reply too large for its slot (slot named by the envelope); the slot itself then says
    /// only "large" ([`AUX_LARGE`](super::reply::AUX_LARGE)).
    LargeReply = 17,
    /// A reply to an async invoke sent without a slot (request id in the envelope).
    Reply = 18,
    /// Main invokes a renderer handler.
    InvokeRenderer = 19,
    /// An async slot's reply is published and its requester had announced that it sleeps
    /// (slot named by the envelope): the receive thread wakes the future waiting on it.
    SlotReady = 20,
    // lifecycles
    /// Main closed this renderer's `WebContents` (`webContents.close()`): the renderer fails
    /// every call it has pending at once, and its handles count as disconnected.
    Close = 30,
    /// The renderer closed its side (`IpcRenderer::close`, or its last handle dropped) while
    /// its process lives: main fails its pending invokes and destroys the `WebContents`.
    Closing = 31,
    // either way (and through a port's rings)
    /// `webContents.postMessage` / `ipcRenderer.postMessage` / `port.postMessage`: one
    /// `Value`, then a trailer of transferred-port records (their count in the envelope's
    /// request id).
    PostMessage = 40,
    // renderer -> main
    /// A renderer moves a port end across a port whose peer is in another process: the end's
    /// memfd travels on the fd socket, main forwards it to the holder of the peer end.
    PortForward = 41,
    /// A renderer closed a port end that crossed a process boundary through main.
    PortClosed = 42,
}

impl Kind {
    /// Every kind, in tag order.
    #[cfg(test)]
    pub(crate) const ALL: [Kind; 15] = [
        Kind::Send,
        Kind::SendSync,
        Kind::Invoke,
        Kind::HandlerReply,
        Kind::FrameOpen,
        Kind::Message,
        Kind::LargeReply,
        Kind::Reply,
        Kind::InvokeRenderer,
        Kind::SlotReady,
        Kind::Close,
        Kind::Closing,
        Kind::PostMessage,
        Kind::PortForward,
        Kind::PortClosed,
    ];

    /// The kind a frame tag names, if any.
    #[inline]
    pub(crate) fn from_tag(tag: u16) -> Option<Kind> {
        Some(match tag {
            1 => Kind::Send,
            2 => Kind::SendSync,
            3 => Kind::Invoke,
            4 => Kind::HandlerReply,
            5 => Kind::FrameOpen,
            16 => Kind::Message,
            17 => Kind::LargeReply,
            18 => Kind::Reply,
            19 => Kind::InvokeRenderer,
            20 => Kind::SlotReady,
            30 => Kind::Close,
            31 => Kind::Closing,
            40 => Kind::PostMessage,
            41 => Kind::PortForward,
            42 => Kind::PortClosed,
            _ => return None,
        })
    }

    /// Whether a renderer may send this kind (the rest only main sends).
    pub(crate) fn sent_by_renderer(self) -> bool {
        (self as u16) < 16 || self == Kind::Closing || (self as u16) >= 40
    }
}

/// Envelope flag: the reply is an error (`[name, message, has_data, data]`), not a value.
pub const FLAG_ERROR: u8 = 1;
/// Envelope flag: reply through the ring (async invoke), not the slot.
pub const FLAG_REPLY_VIA_RING: u8 = 2;
/// Envelope flag: the requester of this slot request waits as a future, not on the slot's
/// futex: when main publishes the reply and finds the slot announced as sleeping, it also
/// sends a `SlotReady` message naming the slot.
pub const FLAG_ASYNC_SLOT: u8 = 4;

/// Longest channel name accepted, in bytes. Longer names are refused at the call
/// ([`SendError::ChannelTooLong`](crate::SendError::ChannelTooLong)).
pub const MAX_CHANNEL_LEN: usize = 4096;

/// Most frames one renderer may announce ([`IpcRenderer::frame`](crate::IpcRenderer::frame)).
pub const MAX_FRAMES: usize = 4096;

/// Largest message (envelope, channel and arguments) either side accepts, in bytes. Larger
/// messages are refused at the call, before they are encoded.
pub const MAX_MESSAGE_LEN: usize = electrode_shm::DEFAULT_MAX_MESSAGE;

// The envelope stores the channel length in 16 bits.
const _: () = assert!(MAX_CHANNEL_LEN <= u16::MAX as usize);

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn tags_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_tag(k as u16), Some(k));
        }
        let known: Vec<u16> = Kind::ALL.iter().map(|k| *k as u16).collect();
        for tag in 0..=u16::MAX {
            assert_eq!(
                Kind::from_tag(tag).is_some(),
                known.contains(&tag),
                "tag {tag}"
            );
        }
    }
}
