//! Realistic ids for generated hierarchies. Every function that takes an
//! index or serial puts it in the id, so ids never repeat.

use super::SplitMix64;

pub(super) const VARIANTS: &[&str] = &[
    "control",
    "treatment-a",
    "treatment-b",
    "blue",
    "green",
    "compact",
    "legacy",
];

pub(super) const TIERS: &[&str] = &["free", "team", "business", "enterprise"];

const AREAS: &[&str] = &[
    "billing",
    "checkout",
    "search",
    "reports",
    "inbox",
    "admin",
    "mobile",
    "api",
    "export",
    "onboarding",
];

const FEATURES: &[&str] = &[
    "new-flow",
    "dark_mode",
    "beta",
    "fastPath",
    "limits",
    "v2",
    "audit-log",
    "sso",
    "bulk-edit",
    "ai-assist",
];

const COMPANIES: &[&str] = &[
    "northwind",
    "contoso",
    "fabrikam",
    "tailspin",
    "litware",
    "adatum",
    "proseware",
    "wingtip",
];

const COMPANY_KINDS: &[&str] = &["consulting", "digital", "partners", "systems", "labs"];

const WORDS: &[&str] = &[
    "blue", "harbor", "maple", "summit", "river", "cedar", "orbit", "pixel", "granite", "meadow",
];

const FIRST_NAMES: &[&str] = &[
    "anna", "ben", "chloe", "david", "emma", "farid", "grace", "hiro", "ines", "jonas",
];

const LAST_NAMES: &[&str] = &[
    "schmidt", "okafor", "garcia", "nguyen", "kowalski", "smith", "rossi", "tanaka",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "corp.example",
    "mail.example.net",
];

const UNICODE_NAMES: &[&str] = &[
    "zoë.müller",
    "józef.wiśniewski",
    "ørjan.ødegård",
    "山田.太郎",
    "иван.петров",
    "أحمد.علي",
    "çağla.öztürk",
    "tester😀",
];

const UNICODE_DOMAINS: &[&str] = &["例え.jp", "bücher.example", "пример.рф"];

pub(super) fn pick<'a>(rng: &mut SplitMix64, list: &[&'a str]) -> &'a str {
    list.get(rng.below_usize(list.len())).copied().unwrap_or("")
}

/// Makes a flag key such as `billing.new-flow-17`.
pub(super) fn flag_key(rng: &mut SplitMix64, index: u32) -> String {
    format!("{}.{}-{index}", pick(rng, AREAS), pick(rng, FEATURES))
}

/// Makes an integrator slug such as `northwind-digital-7`.
pub(super) fn integrator_id(rng: &mut SplitMix64, index: u32) -> String {
    format!(
        "{}-{}-{index}",
        pick(rng, COMPANIES),
        pick(rng, COMPANY_KINDS)
    )
}

/// Makes a tenant slug such as `maple-orbit-1234`.
pub(super) fn tenant_id(rng: &mut SplitMix64, index: u32) -> String {
    format!("{}-{}-{index}", pick(rng, WORDS), pick(rng, WORDS))
}

/// Makes a user id: 45% ASCII emails, 30% UUIDs, 13% numeric ids and 12% emails
/// with non-ASCII names or domains. All but the UUIDs contain `serial`.
pub(super) fn user_id(rng: &mut SplitMix64, serial: u64) -> String {
    match rng.below(100) {
        0..45 => format!(
            "{}.{}{serial}@{}",
            pick(rng, FIRST_NAMES),
            pick(rng, LAST_NAMES),
            pick(rng, DOMAINS)
        ),
        45..75 => uuid_v4(rng),
        75..88 => (100_000_000 + serial).to_string(),
        _ => format!(
            "{}{serial}@{}",
            pick(rng, UNICODE_NAMES),
            pick(rng, UNICODE_DOMAINS)
        ),
    }
}

/// Makes a random UUID in the RFC 9562 version 4 layout, lower-case hex.
fn uuid_v4(rng: &mut SplitMix64) -> String {
    let high = (rng.next_u64() & !0xf000) | 0x4000;
    let low = (rng.next_u64() & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}
