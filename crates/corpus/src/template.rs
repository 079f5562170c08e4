//! The template engine: choices `(a|b)`, slots `{name}`, cues `<…>` whose character spans are
//! recorded while the text is composed.

use crate::rng::Rng;
use crate::vocab::*;

/// One rendered sentence (or phrase) and the spans of its cues, relative to its own start.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub text: String,
    pub nchars: usize,
    /// `(label id, [start, end))` in characters.
    pub spans: Vec<(usize, [usize; 2])>,
}

impl Piece {
    /// Number of whitespace-separated words.
    pub(crate) fn words(&self) -> usize {
        self.text.split_whitespace().count()
    }
}

/// A message under construction: text plus absolute character spans.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    pub text: String,
    nchars: usize,
    pub spans: Vec<(usize, [usize; 2])>,
}

impl Builder {
    /// Appends plain text.
    pub(crate) fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.nchars += s.chars().count();
    }

    /// Appends a piece, shifting its spans by the current length.
    pub(crate) fn piece(&mut self, p: &Piece) {
        let at = self.nchars;
        self.spans.extend(p.spans.iter().map(|&(l, [a, b])| (l, [a + at, b + at])));
        self.text.push_str(&p.text);
        self.nchars += p.nchars;
    }
}

/// Chat abbreviations applied word by word.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("you", "u"),
    ("your", "ur"),
    ("please", "pls"),
    ("thanks", "thx"),
    ("tomorrow", "tmrw"),
    ("because", "bc"),
    ("before", "b4"),
    ("message", "msg"),
    ("people", "ppl"),
    ("tonight", "tonite"),
    ("right", "rite"),
    ("minutes", "mins"),
];

/// The generator state: randomness plus the per-message context (names, style).
pub(crate) struct Gen {
    pub rng: Rng,
    /// Chat style: abbreviations, dropped final full stops.
    pub chat: bool,
    pub recipient: String,
    pub sender: String,
    pub sender_last: String,
    /// The business line whose `{cue}` phrases fill that slot.
    pub line: usize,
}

impl Gen {
    pub(crate) fn new(seed: u64) -> Self {
        Gen {
            rng: Rng::new(seed),
            chat: false,
            recipient: String::new(),
            sender: String::new(),
            sender_last: String::new(),
            line: 0,
        }
    }

    /// Picks the people of a new message and sets the style.
    pub(crate) fn start_message(&mut self, chat: bool) {
        self.chat = chat;
        self.recipient = (*self.rng.pick(FIRST_NAMES)).to_owned();
        loop {
            self.sender = (*self.rng.pick(FIRST_NAMES)).to_owned();
            if self.sender != self.recipient {
                break;
            }
        }
        self.sender_last = (*self.rng.pick(LAST_NAMES)).to_owned();
    }

    /// Resolves every `(a|b|…)` group (recursively) with random choices.
    pub(crate) fn expand(&mut self, s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '(' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            // Find the matching ')' and the top-level '|' separators.
            let mut depth = 0usize;
            let mut cuts = vec![i];
            let mut close = None;
            for (j, &c) in chars.iter().enumerate().skip(i) {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(j);
                            break;
                        }
                    }
                    '|' if depth == 1 => cuts.push(j),
                    _ => {}
                }
            }
            let Some(close) = close else {
                out.push('(');
                i += 1;
                continue;
            };
            cuts.push(close);
            let k = self.rng.below(cuts.len() - 1);
            let alt: String = chars[cuts[k] + 1..cuts[k + 1]].iter().collect();
            let expanded = self.expand(&alt);
            out.push_str(&expanded);
            i = close + 1;
        }
        out
    }

    /// Chat abbreviations: each known word is shortened with probability one half.
    fn chatify(&mut self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for (n, token) in s.split(' ').enumerate() {
            if n > 0 {
                out.push(' ');
            }
            let start = token.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(token.len());
            let end = token.rfind(|c: char| c.is_ascii_alphabetic()).map_or(start, |e| e + 1);
            let core = &token[start..end.max(start)];
            let lower = core.to_ascii_lowercase();
            let hit = ABBREVIATIONS.iter().find(|(w, _)| *w == lower);
            match hit {
                Some((_, short)) if self.rng.chance(0.5) => {
                    out.push_str(&token[..start]);
                    if core.starts_with(|c: char| c.is_ascii_uppercase()) {
                        let mut cs = short.chars();
                        if let Some(f) = cs.next() {
                            out.push(f.to_ascii_uppercase());
                            out.extend(cs);
                        }
                    } else {
                        out.push_str(short);
                    }
                    out.push_str(&token[end.max(start)..]);
                }
                _ => out.push_str(token),
            }
        }
        out
    }

    /// Renders a template; cues `<…>` become spans of `label` (ignored when `None`).
    pub(crate) fn render(&mut self, template: &str, label: Option<usize>) -> Piece {
        let mut s = self.expand(template);
        if self.chat {
            s = self.chatify(&s);
            if s.ends_with('.') && self.rng.chance(0.6) {
                s.pop();
            }
        }
        let mut chars: Vec<char> = Vec::with_capacity(s.len());
        let mut spans = Vec::new();
        let mut cue_start: Option<usize> = None;
        let mut it = s.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '{' => {
                    let mut name = String::new();
                    for d in it.by_ref() {
                        if d == '}' {
                            break;
                        }
                        name.push(d);
                    }
                    let value = self.fill(&name);
                    chars.extend(value.chars());
                }
                '<' => cue_start = Some(chars.len()),
                '>' => {
                    if let (Some(start), Some(label)) = (cue_start.take(), label) {
                        let (mut a, mut b) = (start, chars.len());
                        while a < b && chars[a].is_whitespace() {
                            a += 1;
                        }
                        while b > a && chars[b - 1].is_whitespace() {
                            b -= 1;
                        }
                        if a < b {
                            spans.push((label, [a, b]));
                        }
                    }
                }
                _ => chars.push(c),
            }
        }
        Piece { nchars: chars.len(), text: chars.into_iter().collect(), spans }
    }

    /// Renders a random one of `templates`.
    pub(crate) fn render_any(&mut self, templates: &[&str], label: Option<usize>) -> Piece {
        let t = *self.rng.pick(templates);
        self.render(t, label)
    }

    /// Renders `n` different random ones of `templates` (fewer if there are fewer).
    pub(crate) fn render_distinct(
        &mut self,
        templates: &[&str],
        n: usize,
        label: Option<usize>,
    ) -> Vec<Piece> {
        let mut order: Vec<usize> = (0..templates.len()).collect();
        self.rng.shuffle(&mut order);
        order.into_iter().take(n).map(|i| self.render(templates[i], label)).collect()
    }

    /// Renders a random one of `templates` without cues.
    pub(crate) fn plain_any(&mut self, templates: &[&str]) -> String {
        self.render_any(templates, None).text
    }

    /// Renders a template without cues.
    pub(crate) fn plain(&mut self, template: &str) -> String {
        self.render(template, None).text
    }

    fn full_name(&mut self) -> String {
        format!("{} {}", self.rng.pick(FIRST_NAMES), self.rng.pick(LAST_NAMES))
    }

    fn thousands(n: u64) -> String {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    fn date(&mut self) -> String {
        let day = self.rng.range(1, 28);
        let month = *self.rng.pick(MONTHS);
        match self.rng.below(6) {
            0 => (*self.rng.pick(WEEKDAYS)).to_owned(),
            1 => format!("next {}", self.rng.pick(WEEKDAYS)),
            2 => format!("{day} {month}"),
            3 => format!("{month} {day}"),
            4 => format!("{}/{:02}", day, self.rng.range(1, 12)),
            _ => format!("{} the {}{}", self.rng.pick(WEEKDAYS), day, ordinal(day)),
        }
    }

    /// The value of one slot.
    pub(crate) fn fill(&mut self, slot: &str) -> String {
        let r = &mut self.rng;
        match slot {
            "name" => self.full_name(),
            "first" | "colleague" => (*r.pick(FIRST_NAMES)).to_owned(),
            "recipient" => self.recipient.clone(),
            "sender" => self.sender.clone(),
            "sender_full" => format!("{} {}", self.sender, self.sender_last),
            "title" => (*r.pick(TITLES)).to_owned(),
            "company" | "target_co" => (*r.pick(COMPANIES)).to_owned(),
            "ticker" => (*r.pick(TICKERS)).to_owned(),
            "city" => (*r.pick(CITIES)).to_owned(),
            "street" => format!("{} {}", r.range(1, 240), r.pick(STREETS)),
            "qty" => Self::thousands(r.range(1, 600) as u64 * 100),
            "num" => r.range(2, 19).to_string(),
            "price" | "price2" => format!("{}.{:02}", r.range(3, 480), r.below(100)),
            "pct" => match r.below(3) {
                0 => format!("{}%", r.range(2, 45)),
                1 => format!("{}.{}%", r.range(1, 20), r.below(10)),
                _ => format!("{} percent", r.range(2, 40)),
            },
            "bps" => r.range(1, 25).to_string(),
            "amount" => match r.below(5) {
                0 => format!("${}.{}m", r.range(1, 90), r.below(10)),
                1 => format!("EUR {}", Self::thousands(r.range(10, 900) as u64 * 1000)),
                2 => format!("GBP {}k", r.range(50, 950)),
                3 => format!("USD {}", Self::thousands(r.range(1, 40) as u64 * 100_000)),
                _ => format!("{}m", r.range(2, 400)),
            },
            "small_amount" => match r.below(4) {
                0 => format!("${}", Self::thousands(r.range(5, 200) as u64 * 100)),
                1 => format!("EUR {}", Self::thousands(r.range(1, 50) as u64 * 1000)),
                2 => format!("{}k", r.range(2, 50)),
                _ => format!("GBP {}", Self::thousands(r.range(2, 90) as u64 * 500)),
            },
            "date" => self.date(),
            "time" => match r.below(3) {
                0 => format!("{}pm", r.range(1, 6)),
                1 => format!("{}:{}", r.range(8, 17), ["00", "15", "30", "45"][r.below(4)]),
                _ => format!("{}am", r.range(7, 11)),
            },
            "quarter" => format!("Q{}", r.range(1, 4)),
            "ssn" => format!("{}-{}-{}", r.digits(3), r.digits(2), r.digits(4)),
            "passport" => match r.below(3) {
                0 => format!("{}{}", r.letters(1), r.digits(7)),
                1 => format!("{}{}", r.letters(2), r.digits(7)),
                _ => r.digits(9),
            },
            "dob" => {
                let (d, m, y) = (r.range(1, 28), r.range(1, 12), r.range(1941, 2004));
                match r.below(3) {
                    0 => format!("{d:02}/{m:02}/{y}"),
                    1 => format!("{d} {} {y}", MONTHS[m - 1]),
                    _ => format!("{y}-{m:02}-{d:02}"),
                }
            }
            "address" => {
                let street = format!("{} {}", r.range(1, 240), r.pick(STREETS));
                let city = r.pick(CITIES);
                if r.chance(0.5) {
                    format!("{street}, {city}")
                } else {
                    format!("{street}, {city} {}", r.digits(5))
                }
            }
            "card" => format!("4{} {} {} {}", r.digits(3), r.digits(4), r.digits(4), r.digits(4)),
            "expiry" => format!("{:02}/{}", r.range(1, 12), r.range(26, 31)),
            "iban" => {
                let cc = *r.pick(&["GB", "DE", "FR", "NL", "ES", "IT", "IE"]);
                format!(
                    "{cc}{} {} {} {} {}",
                    r.digits(2),
                    r.letters(4),
                    r.digits(4),
                    r.digits(4),
                    r.digits(4)
                )
            }
            "account" => r.digits(8),
            "sortcode" => format!("{}-{}-{}", r.digits(2), r.digits(2), r.digits(2)),
            "phone" => match r.below(3) {
                0 => format!("+44 7700 {}", r.digits(6)),
                1 => format!("07{} {}", r.digits(3), r.digits(6)),
                _ => format!("+1 {}-{}-{}", r.digits(3), r.digits(3), r.digits(4)),
            },
            "email_addr" => {
                let first: String = r.pick(FIRST_NAMES).chars().filter(char::is_ascii_alphabetic).collect();
                let last: String = r.pick(LAST_NAMES).chars().filter(char::is_ascii_alphabetic).collect();
                let domain = r.pick(EMAIL_DOMAINS);
                let num = if r.chance(0.4) { r.range(1, 99).to_string() } else { String::new() };
                format!("{}.{}{}@{}", first.to_ascii_lowercase(), last.to_ascii_lowercase(), num, domain)
            }
            "app" => (*r.pick(APPS)).to_owned(),
            "doc" => (*r.pick(DOCS)).to_owned(),
            "outsider" => {
                let t = *r.pick(OUTSIDERS);
                self.plain(t)
            }
            "official" => (*r.pick(OFFICIALS)).to_owned(),
            "resort" => (*r.pick(RESORTS)).to_owned(),
            "codename" => (*r.pick(CODENAMES)).to_owned(),
            "side" => (*r.pick(&["BUY", "SELL", "Bought", "Sold", "B", "S"])).to_owned(),
            "cue" => {
                let cues = crate::business::CUES[self.line % crate::business::CUES.len()];
                (*self.rng.pick(cues)).to_owned()
            }
            _ => String::new(),
        }
    }
}

fn ordinal(day: usize) -> &'static str {
    match (day % 10, day % 100) {
        (1, n) if n != 11 => "st",
        (2, n) if n != 12 => "nd",
        (3, n) if n != 13 => "rd",
        _ => "th",
    }
}
