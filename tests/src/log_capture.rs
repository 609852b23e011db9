//! A log sink a test hands to a `tracing` subscriber (`.with_writer(move || capture.clone())`)
//! to read back what was logged.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::{Level, Subscriber};

/// The bytes written so far, shared by its clones.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// A subscriber that writes every event, down to TRACE, as one JSON line into the capture
    /// it comes with.
    pub fn json_trace() -> (Self, impl Subscriber + Send + Sync) {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        (capture, subscriber)
    }

    /// Everything written so far, as text (logs are UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("UTF-8 logs")
    }
}

impl Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
