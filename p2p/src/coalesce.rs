//! Fewer, fuller Noise frames under Yamux.
//!
//! Yamux splits a stream's data into frames of 16 KiB and flushes the socket after every
//! frame it writes. Under it sits Noise, which buffers writes into a frame of up to 64 KiB
//! and seals and sends that buffer on every flush. Stacked directly, every 16 KiB of a
//! response becomes its own sealed frame and its own write to the socket: four times the
//! AEAD calls, socket writes, loopback packets and wake-ups the bytes need.
//!
//! [`Coalesce`] sits between the two and holds a flush back by one turn of the connection's
//! task: a flush that comes right after a write only asks to be polled again. If Yamux has
//! another frame ready by then, it writes it into the same Noise frame; the flush that finds
//! nothing written since it was held back goes through. So data never waits for more data
//! (the task is woken at once, exactly as if the flush had been done), and a burst of frames
//! leaves as full 64 KiB Noise frames. [`CoalescedYamux`] is the muxer upgrade that puts it
//! in place: Yamux's own upgrade, on a [`Coalesce`]d socket.

use std::{
	io,
	pin::Pin,
	task::{Context, Poll},
};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade, UpgradeInfo};

/// A socket whose flush right after a write is held back one turn (see the module docs).
#[derive(Debug)]
pub struct Coalesce<T> {
	inner: T,
	/// Bytes were written since the last flush call.
	written: bool,
}

impl<T> Coalesce<T> {
	/// Wraps `inner`.
	pub fn new(inner: T) -> Self {
		Self { inner, written: false }
	}
}

impl<T: AsyncRead + Unpin> AsyncRead for Coalesce<T> {
	fn poll_read(
		mut self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &mut [u8],
	) -> Poll<io::Result<usize>> {
		Pin::new(&mut self.inner).poll_read(cx, buf)
	}
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalesce<T> {
	fn poll_write(
		mut self: Pin<&mut Self>,
		cx: &mut Context<'_>,
		buf: &[u8],
	) -> Poll<io::Result<usize>> {
		let n = std::task::ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
		self.written |= n > 0;
		Poll::Ready(Ok(n))
	}

	fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		if std::mem::take(&mut self.written) {
			// Come back once more before sending: whatever the task writes meanwhile joins
			// this frame, and the next flush (with nothing new written) goes through.
			cx.waker().wake_by_ref();
			return Poll::Ready(Ok(()));
		}
		Pin::new(&mut self.inner).poll_flush(cx)
	}

	fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
		self.written = false;
		Pin::new(&mut self.inner).poll_close(cx)
	}
}

/// Yamux over a [`Coalesce`]d socket: the multiplexer upgrade of every connection.
#[derive(Clone, Debug, Default)]
pub struct CoalescedYamux(libp2p::yamux::Config);

impl UpgradeInfo for CoalescedYamux {
	type Info = <libp2p::yamux::Config as UpgradeInfo>::Info;
	type InfoIter = <libp2p::yamux::Config as UpgradeInfo>::InfoIter;

	fn protocol_info(&self) -> Self::InfoIter {
		self.0.protocol_info()
	}
}

impl<C> InboundConnectionUpgrade<C> for CoalescedYamux
where
	C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
	type Output = <libp2p::yamux::Config as InboundConnectionUpgrade<Coalesce<C>>>::Output;
	type Error = <libp2p::yamux::Config as InboundConnectionUpgrade<Coalesce<C>>>::Error;
	type Future = <libp2p::yamux::Config as InboundConnectionUpgrade<Coalesce<C>>>::Future;

	fn upgrade_inbound(self, socket: C, info: Self::Info) -> Self::Future {
		self.0.upgrade_inbound(Coalesce::new(socket), info)
	}
}

impl<C> OutboundConnectionUpgrade<C> for CoalescedYamux
where
	C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
	type Output = <libp2p::yamux::Config as OutboundConnectionUpgrade<Coalesce<C>>>::Output;
	type Error = <libp2p::yamux::Config as OutboundConnectionUpgrade<Coalesce<C>>>::Error;
	type Future = <libp2p::yamux::Config as OutboundConnectionUpgrade<Coalesce<C>>>::Future;

	fn upgrade_outbound(self, socket: C, info: Self::Info) -> Self::Future {
		self.0.upgrade_outbound(Coalesce::new(socket), info)
	}
}

#[cfg(test)]
mod tests {
	use std::{
		sync::{
			atomic::{AtomicUsize, Ordering},
			Arc,
		},
		task::{Wake, Waker},
	};

	use futures::{executor::block_on, io::Cursor, AsyncReadExt};

	use super::*;

	/// A sink that records what reaches it.
	#[derive(Default)]
	struct Counting {
		bytes: Vec<u8>,
		flushes: usize,
		closed: bool,
	}

	impl AsyncWrite for Counting {
		fn poll_write(
			mut self: Pin<&mut Self>,
			_: &mut Context<'_>,
			buf: &[u8],
		) -> Poll<io::Result<usize>> {
			self.bytes.extend_from_slice(buf);
			Poll::Ready(Ok(buf.len()))
		}

		fn poll_flush(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
			self.flushes += 1;
			Poll::Ready(Ok(()))
		}

		fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
			self.closed = true;
			Poll::Ready(Ok(()))
		}
	}

	#[test]
	fn a_flush_after_writes_waits_one_turn_and_wakes_the_task() {
		let mut socket = Coalesce::new(Counting::default());
		let (waker, woken) = counting_waker();
		let mut cx = Context::from_waker(&waker);
		for frame in [&b"one"[..], b"two", b"three"] {
			assert!(Pin::new(&mut socket).poll_write(&mut cx, frame).is_ready());
			assert!(Pin::new(&mut socket).poll_flush(&mut cx).is_ready());
		}
		assert_eq!(socket.inner.flushes, 0, "flushes right after writes are held back");
		assert_eq!(woken.0.load(Ordering::SeqCst), 3, "each asked for a turn");
		assert!(Pin::new(&mut socket).poll_flush(&mut cx).is_ready());
		assert_eq!(socket.inner.flushes, 1, "the flush with nothing new written goes through");
		assert_eq!(socket.inner.bytes, b"onetwothree");
	}

	#[test]
	fn close_right_after_a_write_is_not_held_back() {
		let mut socket = Coalesce::new(Counting::default());
		let (waker, woken) = counting_waker();
		let mut cx = Context::from_waker(&waker);
		assert!(Pin::new(&mut socket).poll_write(&mut cx, b"last").is_ready());
		assert!(Pin::new(&mut socket).poll_close(&mut cx).is_ready());
		assert!(socket.inner.closed, "the close reached the socket at once");
		assert_eq!(woken.0.load(Ordering::SeqCst), 0);
	}

	#[test]
	fn reads_pass_through() {
		let mut socket = Coalesce::new(Cursor::new(b"abc".to_vec()));
		let mut buf = [0u8; 3];
		block_on(socket.read_exact(&mut buf)).unwrap();
		assert_eq!(&buf, b"abc");
	}

	/// A waker that counts its wake-ups.
	struct Count(AtomicUsize);

	impl Wake for Count {
		fn wake(self: Arc<Self>) {
			self.wake_by_ref();
		}

		fn wake_by_ref(self: &Arc<Self>) {
			self.0.fetch_add(1, Ordering::SeqCst);
		}
	}

	fn counting_waker() -> (Waker, Arc<Count>) {
		let count = Arc::new(Count(AtomicUsize::new(0)));
		(Waker::from(count.clone()), count)
	}
}
