#![no_main]
//! Watch rules come from registry accounts' subscription requests. Any text must parse
//! or be refused without a panic, and a rule's canonical text must parse back to a rule
//! with the same canonical text (subscriptions are stored and matched by it).
use libfuzzer_sys::fuzz_target;
use monitor::WatchRule;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rule) = text.parse::<WatchRule>() {
        let canonical = rule.to_string();
        let again: WatchRule = canonical.parse().expect("canonical text parses");
        assert_eq!(again.to_string(), canonical);
    }
});
