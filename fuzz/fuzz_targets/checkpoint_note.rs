#![no_main]
//! Signed notes and checkpoints come from untrusted logs: parsing must never panic,
//! and whatever parses must re-encode to the same bytes.
use libfuzzer_sys::fuzz_target;
use merkle::checkpoint::Checkpoint;
use merkle::note::SignedNote;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = SignedNote::parse(text) {
        assert_eq!(note.encode(), text);
        if let Ok(checkpoint) = Checkpoint::parse(&note.text) {
            assert_eq!(checkpoint.to_text(), note.text);
        }
    }
    let _ = Checkpoint::parse(text);
});
