//! Outlook's TNEF (`winmail.dat`, `application/ms-tnef`) → the files inside it.
//!
//! Owns reading the TNEF attribute stream: the signature, each attribute (level, id, length,
//! data, checksum), the attachments it delimits with `attAttachRenddata`, their names
//! (`attAttachTitle`, or the long name `PR_ATTACH_LONG_FILENAME` from the MAPI property list
//! in `attAttachment`), their MIME tag and their bytes (`attAttachData`). It must not touch
//! anything else: the message body (the RTF in `attMAPIProps`), embedded messages, file-name
//! sanitising and the configured limits belong to the caller (`parse`, then `store`).
//!
//! Pure and bounded, because a `winmail.dat` is whatever a stranger sends: every length is
//! checked against the input still unread before anything is copied, so no allocation is
//! larger than the input and the files together never exceed it; a malformed stream yields
//! the files decoded before the damage (or none), never a panic.

use super::header;

/// The first four bytes of every TNEF stream (little-endian on the wire).
const SIGNATURE: u32 = 0x223E_9F78;

/// Attribute ids: the attribute type in the high 16 bits, the id in the low 16.
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_ATTACH_RENDDATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

/// MAPI property ids read from `attAttachment`.
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;

/// MAPI property types whose values have a length prefix.
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_BINARY: u16 = 0x0102;
const PT_OBJECT: u16 = 0x000D;
const MV_FLAG: u16 = 0x1000;

/// How much the caller lets one stream produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decoding stops after this many files.
    pub max_files: usize,
    /// A larger file is skipped (the ones after it are still decoded).
    pub max_file_bytes: usize,
}

/// One file found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The long name when the stream has one, else the title; not yet sanitised.
    pub name: Option<String>,
    /// The MIME tag Outlook recorded, lowercase, when it looks like `type/subtype`.
    pub content_type: Option<String>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// The files of a TNEF stream within `limits`, in stream order: those decoded before any
/// damage, none when `input` is no TNEF at all.
pub fn decode(input: &[u8], limits: Limits) -> Vec<File> {
    let mut files = Vec::new();
    let mut reader = Reader { rest: input };
    // The signature, then a 16-bit "legacy key" nobody reads.
    if reader.u32() != Some(SIGNATURE) || reader.u16().is_none() {
        return files;
    }
    let mut codepage = "windows-1252";
    let mut current: Option<Pending<'_>> = None;
    while files.len() < limits.max_files {
        let Some((id, data)) = reader.attribute() else {
            break;
        };
        match (id, current.as_mut()) {
            (ATT_OEM_CODEPAGE, _) => codepage = charset(data),
            // Each attachment's group opens with its rendering data: the previous one is whole.
            (ATT_ATTACH_RENDDATA, _) => {
                finish(current.take(), codepage, limits, &mut files);
                current = Some(Pending::default());
            }
            (ATT_ATTACH_TITLE, Some(pending)) => pending.title = Some(data),
            (ATT_ATTACH_DATA, Some(pending)) => pending.data = Some(data),
            (ATT_ATTACHMENT, Some(pending)) => pending.props = Some(data),
            _ => {}
        }
    }
    // A stream cut short still gives the last attachment whose data arrived whole.
    if files.len() < limits.max_files {
        finish(current, codepage, limits, &mut files);
    }
    files
}

/// An attachment's attributes as they are met, kept as slices of the input until it ends.
#[derive(Default)]
struct Pending<'a> {
    title: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
    props: Option<&'a [u8]>,
}

fn finish(pending: Option<Pending<'_>>, codepage: &str, limits: Limits, files: &mut Vec<File>) {
    let Some(pending) = pending else { return };
    // An attachment without data (an OLE object, a link) has nothing to store.
    let Some(data) = pending.data else { return };
    if data.len() > limits.max_file_bytes {
        return;
    }
    let props = pending.props.map(|p| mapi_strings(p, codepage)).unwrap_or_default();
    let title = pending.title.map(|t| header::decode_bytes(codepage, until_nul(t)));
    files.push(File {
        name: props.long_name.or(title).filter(|n| !n.trim().is_empty()),
        content_type: props
            .mime_tag
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| is_mime_type(t)),
        bytes: data.to_vec(),
    });
}

/// The charset of `attOemCodepage` (its first 32-bit value): Outlook writes 8-bit strings in
/// the sender's Windows code page, so an Italian title is windows-1252 and a Polish one 1250.
fn charset(data: &[u8]) -> &'static str {
    match (Reader { rest: data }).u32() {
        Some(65001) => "utf-8",
        Some(1250) => "windows-1250",
        Some(1251) => "windows-1251",
        Some(1253) => "windows-1253",
        Some(1254) => "windows-1254",
        Some(1257) => "windows-1257",
        _ => "windows-1252",
    }
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

/// `type/subtype` in the characters a MIME token allows; anything else is not worth keeping.
fn is_mime_type(tag: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    tag.split_once('/').is_some_and(|(t, s)| token(t) && token(s))
}

/// The string properties read from a MAPI property list.
#[derive(Default)]
struct MapiStrings {
    long_name: Option<String>,
    mime_tag: Option<String>,
}

/// Reads `attAttachment`'s property list as far as it is well formed, keeping the two string
/// properties the caller uses; the other values are only skipped.
fn mapi_strings(props: &[u8], codepage: &str) -> MapiStrings {
    let mut found = MapiStrings::default();
    let _ = read_properties(&mut Reader { rest: props }, codepage, &mut found);
    found
}

/// `None` where the list stops making sense: what was found until then is kept in `found`.
/// Every step consumes at least four bytes, so a hostile count cannot loop past the input.
fn read_properties(reader: &mut Reader<'_>, codepage: &str, found: &mut MapiStrings) -> Option<()> {
    let count = reader.u32()?;
    for _ in 0..count {
        let kind = reader.u16()?;
        let id = reader.u16()?;
        // Named properties carry their name (a GUID and a number or a UTF-16 string).
        if id >= 0x8000 {
            reader.take(16)?;
            match reader.u32()? {
                0 => {
                    reader.u32()?;
                }
                1 => {
                    let len = reader.u32()?;
                    reader.take(padded(len)?)?;
                }
                _ => return None,
            }
        }
        let base = kind & !MV_FLAG;
        let variable = matches!(base, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT);
        let values = if kind & MV_FLAG != 0 || variable {
            reader.u32()?
        } else {
            1
        };
        for _ in 0..values {
            let value = if variable {
                let len = reader.u32()?;
                let value = reader.take(usize::try_from(len).ok()?)?;
                reader.take(padded(len)? - value.len())?;
                value
            } else {
                reader.take(fixed_size(base)?)?
            };
            let text = match base {
                PT_STRING8 => header::decode_bytes(codepage, until_nul(value)),
                PT_UNICODE => utf16(value),
                _ => continue,
            };
            match id {
                PR_ATTACH_LONG_FILENAME => found.long_name = Some(text),
                PR_ATTACH_MIME_TAG => found.mime_tag = Some(text),
                _ => {}
            }
        }
    }
    Some(())
}

/// Bytes a fixed-size value takes, padded to four as TNEF writes them.
fn fixed_size(base: u16) -> Option<usize> {
    match base {
        // PT_SHORT, PT_LONG, PT_FLOAT, PT_ERROR, PT_BOOLEAN
        0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => Some(4),
        // PT_DOUBLE, PT_CURRENCY, PT_APPTIME, PT_I8, PT_SYSTIME
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => Some(8),
        // PT_CLSID
        0x0048 => Some(16),
        _ => None,
    }
}

fn padded(len: u32) -> Option<usize> {
    usize::try_from(len.checked_add(3)? & !3).ok()
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// A cursor over the input that hands out slices only when the bytes are there.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// One attribute: level (message 1 or attachment 2), id, length, data, checksum (the
    /// 16-bit sum of the data bytes). A wrong level or checksum means the stream is damaged
    /// from here on, so nothing after it is believed.
    fn attribute(&mut self) -> Option<(u32, &'a [u8])> {
        let level = self.take(1)?[0];
        if !matches!(level, 1 | 2) {
            return None;
        }
        let id = self.u32()?;
        let len = usize::try_from(self.u32()?).ok()?;
        let data = self.take(len)?;
        let checksum = self.u16()?;
        let sum = data.iter().fold(0u16, |sum, &b| sum.wrapping_add(u16::from(b)));
        (sum == checksum).then_some((id, data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: Limits = Limits {
        max_files: 20,
        max_file_bytes: 1 << 20,
    };

    /// Builds TNEF streams the way Outlook writes them, attribute by attribute.
    struct Tnef(Vec<u8>);

    impl Tnef {
        fn new() -> Tnef {
            let mut bytes = SIGNATURE.to_le_bytes().to_vec();
            bytes.extend_from_slice(&0x0001u16.to_le_bytes());
            Tnef(bytes)
        }

        fn attr(mut self, level: u8, id: u32, data: &[u8]) -> Tnef {
            let sum = data.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)));
            self.0.push(level);
            self.0.extend_from_slice(&id.to_le_bytes());
            self.0.extend_from_slice(&(data.len() as u32).to_le_bytes());
            self.0.extend_from_slice(data);
            self.0.extend_from_slice(&sum.to_le_bytes());
            self
        }

        /// An attachment group: rendering data, title, data, and optionally the MAPI list.
        fn file(self, title: &[u8], data: &[u8], props: Option<&[u8]>) -> Tnef {
            let mut title = title.to_vec();
            title.push(0);
            let built = self
                .attr(
                    2,
                    ATT_ATTACH_RENDDATA,
                    &[1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 1, 0, 0, 0, 0, 0],
                )
                .attr(2, ATT_ATTACH_TITLE, &title)
                .attr(2, ATT_ATTACH_DATA, data);
            match props {
                Some(props) => built.attr(2, ATT_ATTACHMENT, props),
                None => built,
            }
        }
    }

    /// A MAPI property list of string properties: (type, id, bytes as stored).
    fn props(list: &[(u16, u16, &[u8])]) -> Vec<u8> {
        let mut out = (list.len() as u32 + 1).to_le_bytes().to_vec();
        // A fixed-size property first (PR_ATTACH_METHOD = 1), which must be skipped right.
        out.extend_from_slice(&0x0003u16.to_le_bytes());
        out.extend_from_slice(&0x3705u16.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (kind, id, value) in list {
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out
    }

    fn utf16z(text: &str) -> Vec<u8> {
        text.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
    }

    fn names(files: &[File]) -> Vec<Option<&str>> {
        files.iter().map(|f| f.name.as_deref()).collect()
    }

    #[test]
    fn files_come_out_with_their_titles_and_bytes_in_order() {
        let stream = Tnef::new()
            .attr(1, ATT_OEM_CODEPAGE, &[0xE4, 0x04, 0, 0, 0, 0, 0, 0])
            .file(b"PLANIM~1.PDF", b"%PDF-1.4 uno", None)
            .file(b"foto.jpg", b"\xFF\xD8\xFF due", None);
        let files = decode(&stream.0, ROOMY);
        assert_eq!(names(&files), [Some("PLANIM~1.PDF"), Some("foto.jpg")]);
        assert_eq!(files[0].bytes, b"%PDF-1.4 uno");
        assert_eq!(files[1].bytes, b"\xFF\xD8\xFF due");
        assert_eq!(files[0].content_type, None);
    }

    #[test]
    fn the_long_name_and_mime_tag_of_the_property_list_win_over_the_title() {
        let list = props(&[
            (
                PT_UNICODE,
                PR_ATTACH_LONG_FILENAME,
                &utf16z("planimetria piano terra.pdf"),
            ),
            (PT_STRING8, PR_ATTACH_MIME_TAG, b"Application/PDF\0"),
        ]);
        let stream = Tnef::new().file(b"PLANIM~1.PDF", b"%PDF", Some(&list));
        let files = decode(&stream.0, ROOMY);
        assert_eq!(names(&files), [Some("planimetria piano terra.pdf")]);
        assert_eq!(files[0].content_type.as_deref(), Some("application/pdf"));
    }

    #[test]
    fn eight_bit_titles_are_read_in_the_streams_code_page() {
        // "perizia è.pdf" in windows-1252, and "říjen.pdf" in windows-1250 (code page 1250).
        let latin = Tnef::new().file(b"perizia \xE8.pdf", b"x", None);
        assert_eq!(names(&decode(&latin.0, ROOMY)), [Some("perizia è.pdf")]);
        let czech = Tnef::new()
            .attr(1, ATT_OEM_CODEPAGE, &1250u32.to_le_bytes())
            .file(b"\xF8\xEDjen.pdf", b"x", None);
        assert_eq!(names(&decode(&czech.0, ROOMY)), [Some("říjen.pdf")]);
    }

    #[test]
    fn a_damaged_property_list_keeps_the_title() {
        let mut list = props(&[(PT_UNICODE, PR_ATTACH_LONG_FILENAME, &utf16z("lungo.pdf"))]);
        // The long name's length now claims far more than the list holds.
        list[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        let stream = Tnef::new().file(b"LUNGO~1.PDF", b"x", Some(&list));
        assert_eq!(names(&decode(&stream.0, ROOMY)), [Some("LUNGO~1.PDF")]);
        // A hostile property count over an empty list.
        let stream = Tnef::new().file(b"A.PDF", b"x", Some(&u32::MAX.to_le_bytes()));
        assert_eq!(names(&decode(&stream.0, ROOMY)), [Some("A.PDF")]);
    }

    #[test]
    fn not_tnef_gives_nothing() {
        assert!(decode(b"", ROOMY).is_empty());
        assert!(decode(b"%PDF-1.4 not a winmail.dat", ROOMY).is_empty());
        assert!(decode(&SIGNATURE.to_le_bytes(), ROOMY).is_empty());
        assert!(decode(&Tnef::new().0, ROOMY).is_empty());
    }

    #[test]
    fn a_truncated_stream_keeps_the_files_before_the_cut() {
        let whole = Tnef::new()
            .file(b"primo.pdf", b"uno", None)
            .file(b"secondo.pdf", b"due due due", None)
            .0;
        assert_eq!(names(&decode(&whole, ROOMY)), [Some("primo.pdf"), Some("secondo.pdf")]);
        // Every prefix: never a panic, never a file that was not whole, never more bytes.
        for cut in 0..whole.len() {
            let files = decode(&whole[..cut], ROOMY);
            assert!(files.len() <= 2);
            assert!(files.iter().map(|f| f.bytes.len()).sum::<usize>() <= cut);
            if let Some(second) = files.get(1) {
                assert_eq!(second.bytes, b"due due due");
            }
        }
        // Cut inside the second file's data: the first survives alone.
        assert_eq!(names(&decode(&whole[..whole.len() - 8], ROOMY)), [Some("primo.pdf")]);
    }

    #[test]
    fn a_hostile_length_or_checksum_stops_the_stream_without_allocating() {
        let mut stream = Tnef::new().file(b"primo.pdf", b"uno", None).0;
        let second_start = stream.len();
        stream = Tnef(stream).file(b"secondo.pdf", b"due", None).0;
        // The second group's rendering data claims 4 GiB.
        stream[second_start + 5..second_start + 9].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(names(&decode(&stream, ROOMY)), [Some("primo.pdf")]);

        let mut corrupt = Tnef::new().file(b"a.pdf", b"dati", None).0;
        let last = corrupt.len() - 3; // the data's last byte, before its checksum
        corrupt[last] ^= 0x55;
        assert!(decode(&corrupt, ROOMY).is_empty());

        let mut bad_level = Tnef::new().file(b"a.pdf", b"dati", None).0;
        bad_level[6] = 7;
        assert!(decode(&bad_level, ROOMY).is_empty());
    }

    #[test]
    fn the_callers_limits_bound_the_files() {
        let stream = Tnef::new()
            .file(b"1.pdf", b"a", None)
            .file(b"grande.pdf", b"0123456789", None)
            .file(b"3.pdf", b"c", None)
            .file(b"4.pdf", b"d", None);
        let files = decode(
            &stream.0,
            Limits {
                max_files: 2,
                max_file_bytes: 4,
            },
        );
        assert_eq!(names(&files), [Some("1.pdf"), Some("3.pdf")]);
        let none = Limits {
            max_files: 0,
            max_file_bytes: 4,
        };
        assert!(decode(&stream.0, none).is_empty());
    }

    #[test]
    fn an_attachment_without_data_or_name_is_handled() {
        let stream = Tnef::new()
            .attr(2, ATT_ATTACH_RENDDATA, &[0; 14])
            .attr(2, ATT_ATTACH_TITLE, b"oggetto OLE\0")
            .attr(2, ATT_ATTACH_RENDDATA, &[0; 14])
            .attr(2, ATT_ATTACH_DATA, b"senza nome");
        let files = decode(&stream.0, ROOMY);
        assert_eq!(names(&files), [None]);
        assert_eq!(files[0].bytes, b"senza nome");
    }
}
