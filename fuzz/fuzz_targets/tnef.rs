//! Fuzzes the TNEF decoder (`ingest::tnef`): a `winmail.dat` of any shape must decode without
//! panicking, within the limits it is given, into files no larger than the input together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sportello::ingest::tnef::{self, Limits};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the limits, so the count and size bounds are fuzzed too.
    let (limits, stream) = match data.split_first() {
        Some((&pick, rest)) => (
            Limits {
                max_files: usize::from(pick & 0x0F),
                max_file_bytes: usize::from(pick >> 4) << 6,
            },
            rest,
        ),
        None => (
            Limits {
                max_files: 0,
                max_file_bytes: 0,
            },
            data,
        ),
    };
    let files = tnef::decode(stream, limits);
    assert!(files.len() <= limits.max_files);
    assert!(files.iter().all(|f| f.bytes.len() <= limits.max_file_bytes));
    assert!(files.iter().map(|f| f.bytes.len()).sum::<usize>() <= stream.len());
});
