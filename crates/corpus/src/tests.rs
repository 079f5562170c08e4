//! Checks of the template tables themselves.

use crate::template::Gen;
use crate::{business, compliance};

const KNOWN_SLOTS: &[&str] = &[
    "name",
    "first",
    "colleague",
    "recipient",
    "sender",
    "sender_full",
    "title",
    "company",
    "target_co",
    "ticker",
    "city",
    "street",
    "qty",
    "num",
    "price",
    "price2",
    "pct",
    "bps",
    "amount",
    "small_amount",
    "date",
    "time",
    "quarter",
    "ssn",
    "passport",
    "dob",
    "address",
    "card",
    "expiry",
    "iban",
    "account",
    "sortcode",
    "phone",
    "email_addr",
    "app",
    "doc",
    "outsider",
    "official",
    "resort",
    "codename",
    "side",
    "cue",
];

fn slots(t: &str) -> Vec<String> {
    t.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(a, _)| a.to_owned())).collect()
}

fn balanced(t: &str) -> bool {
    let (mut paren, mut cue, mut brace) = (0i32, 0i32, 0i32);
    for c in t.chars() {
        match c {
            '(' => paren += 1,
            ')' => paren -= 1,
            '<' => cue += 1,
            '>' => cue -= 1,
            '{' => brace += 1,
            '}' => brace -= 1,
            _ => {}
        }
        if paren < 0 || !(0..=1).contains(&cue) || !(0..=1).contains(&brace) {
            return false;
        }
    }
    paren == 0 && cue == 0 && brace == 0
}

fn cued() -> Vec<(Option<usize>, &'static str)> {
    let mut v = Vec::new();
    for (l, ts) in compliance::TEMPLATES.iter().enumerate() {
        v.extend(ts.iter().map(|&t| (Some(l), t)));
    }
    v.extend(business::all_templates().into_iter().map(|t| (Some(0), t)));
    v
}

fn plain() -> Vec<&'static str> {
    let mut v: Vec<&str> = compliance::NEGATIONS.iter().map(|&(_, t)| t).collect();
    v.extend(compliance::DISTRACTORS);
    v.extend(compliance::FILLER);
    v.extend(compliance::CHAT_GREETINGS);
    v.extend(compliance::EMAIL_GREETINGS);
    v.extend(business::plain_templates());
    v
}

#[test]
fn template_tables_are_well_formed() {
    for (_, t) in cued() {
        assert!(balanced(t), "unbalanced: {t}");
        assert!(t.contains('<'), "no cue: {t}");
        for s in slots(t) {
            assert!(KNOWN_SLOTS.contains(&s.as_str()), "unknown slot {s} in {t}");
        }
    }
    for t in plain() {
        assert!(balanced(t), "unbalanced: {t}");
        assert!(!t.contains('<'), "cue in a label-free template: {t}");
        for s in slots(t) {
            assert!(KNOWN_SLOTS.contains(&s.as_str()), "unknown slot {s} in {t}");
        }
    }
    for ts in compliance::TEMPLATES {
        assert!(ts.len() >= 12);
    }
    for ts in business::TEMPLATES {
        assert!(ts.len() >= 10);
        assert!(ts.iter().all(|t| t.matches('<').count() <= 2));
    }
}

#[test]
fn rendering_leaves_no_markup_and_valid_spans() {
    let mut g = Gen::new(7);
    for round in 0..40 {
        g.start_message(round % 2 == 0);
        g.line = round % 10;
        for (label, t) in cued() {
            let p = g.render(t, label);
            assert!(!p.text.contains(['<', '>', '{', '}', '|']), "markup left in {:?} from {t}", p.text);
            assert!(!p.spans.is_empty(), "{t}");
            let chars: Vec<char> = p.text.chars().collect();
            assert_eq!(chars.len(), p.nchars);
            for &(_, [a, b]) in &p.spans {
                assert!(a < b && b <= chars.len());
                assert!(!chars[a].is_whitespace() && !chars[b - 1].is_whitespace());
            }
        }
        for t in plain() {
            let p = g.render(t, None);
            assert!(!p.text.contains(['<', '>', '{', '}', '|', '(', ')']), "{:?} from {t}", p.text);
        }
    }
}
