//! The business-line task: one class per message, 1–3 cue phrases of that line, shared
//! neutral filler, and weak distractor words of other lines used in a neutral sense.

use crate::compliance::{FILLER, chat, email, interleave, long_paragraphs, paragraphs};
use crate::template::{Builder, Gen, Piece};

/// Cue phrases per business line, in class id order (the `{cue}` slot).
pub(crate) const CUES: [&[&str]; 10] = [
    &[
        "current account",
        "savings account",
        "overdraft",
        "branch network",
        "personal loan",
        "retail deposits",
        "bank teller",
        "account opening",
        "ISA",
        "checking account",
        "cash deposit",
        "branch manager",
        "savings rates",
    ],
    &[
        "term loan",
        "credit facility",
        "revolving credit facility",
        "loan covenants",
        "borrowing base",
        "SME lending",
        "working capital loan",
        "credit committee",
        "loan drawdown",
        "syndicated loan",
        "amortisation schedule",
        "collateral package",
        "debt service coverage",
        "loan officer",
    ],
    &[
        "IPO",
        "M&A advisory",
        "pitch book",
        "bookrunner",
        "fairness opinion",
        "deal team",
        "equity capital markets",
        "roadshow",
        "engagement letter",
        "due diligence",
        "league tables",
        "follow-on offering",
        "leveraged buyout",
        "merger model",
    ],
    &[
        "custody fees",
        "fund NAV",
        "AUM",
        "safekeeping of securities",
        "sub-custodian",
        "fund administration",
        "portfolio manager",
        "asset servicing",
        "corporate actions processing",
        "fund flows",
        "securities lending",
        "depositary",
        "management fee",
        "assets under management",
    ],
    &[
        "premium",
        "claims adjuster",
        "underwriting",
        "policyholder",
        "deductible",
        "reinsurance",
        "loss ratio",
        "actuarial",
        "policy renewal",
        "claim settlement",
        "coverage limit",
        "life insurance",
        "insurance broker",
        "annual premium",
    ],
    &[
        "chargeback",
        "interchange fees",
        "merchant acquiring",
        "payment gateway",
        "contactless payments",
        "card scheme",
        "SEPA transfer",
        "real-time payments",
        "POS terminals",
        "card authorisation",
        "credit card",
        "card issuing",
        "tokenisation",
        "payment rails",
    ],
    &[
        "order book",
        "bid-ask spread",
        "market making",
        "FX desk",
        "futures position",
        "repo desk",
        "trading desk",
        "execution algo",
        "delta hedge",
        "options book",
        "rates desk",
        "prime brokerage",
        "clearing house",
        "equity derivatives",
    ],
    &[
        "private banking client",
        "financial planner",
        "estate planning",
        "trust structure",
        "discretionary portfolio",
        "family office",
        "high-net-worth",
        "retirement planning",
        "succession planning",
        "relationship manager",
        "wealth advisory",
        "inheritance tax planning",
        "private client",
    ],
    &[
        "commercial property",
        "lease agreement",
        "tenant",
        "cap rate",
        "REIT",
        "property valuation",
        "occupancy rate",
        "rent roll",
        "office building",
        "landlord",
        "development site",
        "square footage",
        "zoning approval",
        "property portfolio",
    ],
    &[
        "Brent crude",
        "natural gas",
        "power purchase agreement",
        "LNG cargo",
        "refinery",
        "pipeline capacity",
        "carbon credits",
        "wind farm",
        "copper inventories",
        "barrels",
        "megawatt hour",
        "gas storage",
        "crude oil",
        "iron ore",
    ],
];

/// Templates per business line (each with one or two cues).
pub(crate) const TEMPLATES: [&[&str]; 10] = [
    &[
        "The customer at our {city} <branch> wants to open a <(savings account|current account|checking account)>.",
        "Can you check why {name}'s <overdraft> limit was reduced?",
        "We are closing two <branches> in {city} and moving the <tellers> to the new site.",
        "<Retail deposits> grew {pct} this quarter across the <branch network>.",
        "{name} asked about a <personal loan> of {small_amount} for a new kitchen.",
        "The <account opening> backlog at the {city} <branch> is down to {num} days.",
        "Please update the <savings rates> on the website before {date}.",
        "The <ATM> outside the {city} <branch> keeps running out of cash.",
        "New <ISA> season starts {date}, expect queues at the <branch>.",
        "The <cash deposit> machines in {city} need servicing.",
        "{name} says the statement for (her|his) <current account> went to the wrong address.",
    ],
    &[
        "{company} wants to extend its <term loan> by two years.",
        "The <credit committee> meets {date} to review the {company} <facility>.",
        "They breached the leverage <covenant> last quarter, we need a waiver.",
        "Please update the <borrowing base> certificate for {company}.",
        "{company} asked for a <revolving credit facility> of {amount}.",
        "The <drawdown request> for {amount} came in this morning.",
        "Send the <amortisation schedule> to {company}'s treasurer.",
        "We are the agent on the <syndicated loan> for {company}.",
        "The <collateral package> for the <loan> includes the warehouse and receivables.",
        "<Debt service coverage> dropped below 1.2x, flag it to the <loan officer>.",
        "Our <SME lending> book grew {pct} in {city}.",
    ],
    &[
        "The <IPO> for {company} is pencilled in for {quarter}.",
        "Can you finish the <pitch book> for {company} by {time}?",
        "We won the <M&A advisory> role on the {company} sale.",
        "The <roadshow> starts in {city} on {date}.",
        "Legal needs the <fairness opinion> draft before the board meeting.",
        "We're joint <bookrunner> on the {company} <follow-on offering>.",
        "The <deal team> is doing <due diligence> on {company} all week.",
        "Where do we rank in the <league tables> for {quarter}?",
        "The <leveraged buyout> of {company} needs a new model.",
        "<Equity capital markets> want to sound out investors on {company}.",
        "Sign the <engagement letter> with {company} so we can start.",
    ],
    &[
        "The <custody fees> for {company} go up {pct} from {date}.",
        "<Fund NAV> was struck late again because of a pricing error.",
        "<AUM> in the global equity fund passed {amount}.",
        "The client wants <safekeeping of securities> in {city} through our <sub-custodian>.",
        "Our <portfolio manager> is rebalancing the bond fund this week.",
        "<Corporate actions processing> missed the dividend on {ticker}.",
        "<Fund administration> needs the investor register by {date}.",
        "<Net fund flows> were negative {amount} last month.",
        "The <securities lending> programme earned {amount} this quarter.",
        "The <depositary> review of the {city} fund is due {date}.",
        "Can we cut the <management fee> on the {company} pension fund?",
    ],
    &[
        "The <premium> on {company}'s fleet policy goes up {pct} at <renewal>.",
        "Our <claims adjuster> visits the {city} site on {date}.",
        "<Underwriting> wants more detail on the flood risk.",
        "The <policyholder> disputes the <deductible> on the water damage claim.",
        "<Reinsurance> treaty talks start in {city} next month.",
        "The motor book's <loss ratio> hit {pct} this year.",
        "<Actuarial> needs the mortality tables for the <life insurance> product.",
        "The <claim settlement> for {name} was approved at {small_amount}.",
        "Please confirm the <coverage limit> on {company}'s cyber policy.",
        "The <insurance broker> sent over the <policy renewal> terms.",
        "How many <claims> are still open from the {city} storm?",
    ],
    &[
        "<Chargeback> volumes from {company} doubled this week.",
        "The <interchange fees> review is due {date}.",
        "We are onboarding {company} for <merchant acquiring>.",
        "The <payment gateway> was down for {num} minutes this morning.",
        "<Contactless> limits change in {city} from {date}.",
        "The <card scheme> wants the fraud figures by {date}.",
        "<SEPA transfers> are queueing, check the <payment rails>.",
        "{company} wants <POS terminals> in all their stores.",
        "<Card authorisation> rates dropped to {pct} overnight.",
        "<Tokenisation> for mobile wallets goes live {date}.",
        "We issue {num} thousand new <credit cards> a month.",
    ],
    &[
        "The <order book> in {ticker} is thin this afternoon.",
        "<Bid-ask spreads> widened after the data release.",
        "Our <market making> in {ticker} options lost money today.",
        "The <FX desk> is long euro into the meeting.",
        "Roll the <futures position> before expiry on {date}.",
        "The <repo desk> needs more collateral by {time}.",
        "The new <execution algo> cut slippage by {pct}.",
        "<Delta hedge> the <options book> before the weekend.",
        "<Prime brokerage> onboarded {company} as a hedge fund client.",
        "The <rates desk> P&L was up {amount} today.",
        "Send the trades to the <clearing house> by {time}.",
    ],
    &[
        "Our <private banking client> {name} wants to review (her|his) portfolio.",
        "The <financial planner> meets {name} on {date}.",
        "{name} needs <estate planning> advice before the move to {city}.",
        "Set up a <trust structure> for {name}'s grandchildren.",
        "Move {name} into a <discretionary portfolio>.",
        "The <family office> in {city} wants a new <relationship manager>.",
        "We are hosting <high-net-worth> clients at the {city} event.",
        "<Retirement planning> session with {name} at {time}.",
        "<Succession planning> for {name}'s business is on the agenda.",
        "<Inheritance tax planning> is the top request from our clients this year.",
        "The <wealth advisory> team onboarded {num} new clients.",
    ],
    &[
        "The <commercial property> on {street} is back on the market.",
        "The <lease agreement> for the {city} warehouse expires {date}.",
        "Our biggest <tenant> wants a rent holiday.",
        "The <cap rate> on the {city} portfolio is {pct}.",
        "The <REIT> announced a new acquisition in {city}.",
        "<Property valuation> came in at {amount}.",
        "<Occupancy> at the {city} <office building> fell to {pct}.",
        "Send me the <rent roll> for the retail park.",
        "The <landlord> refuses to fix the roof.",
        "<Zoning approval> for the <development site> is expected {date}.",
        "How much <square footage> is vacant in the {city} tower?",
    ],
    &[
        "<Brent crude> is up {pct} since Monday.",
        "<Natural gas> storage is below the five-year average.",
        "We signed a <power purchase agreement> with the {city} <wind farm>.",
        "The <LNG cargo> is delayed by {num} days.",
        "The <refinery> outage in {city} will hit margins.",
        "<Pipeline capacity> is fully booked for winter.",
        "<Carbon credit> prices fell after the auction.",
        "<Copper inventories> at the warehouse dropped again.",
        "We need {num} thousand <barrels> delivered by {date}.",
        "Power prices hit {price} per <megawatt hour>.",
        "<Gas storage> injections start {date}.",
    ],
];

/// Shared templates whose cue is the line's `{cue}` phrase.
const GENERIC: &[&str] = &[
    "Quick question on the <{cue}> numbers for {date}.",
    "Can we go through the <{cue}> update at {time}?",
    "{colleague} is preparing a note on <{cue}> for the {quarter} review.",
    "Any news on <{cue}>?",
    "I'll add a slide on <{cue}> to the deck.",
    "The client asked again about <{cue}>.",
    "Management wants a weekly report on <{cue}>.",
    "Let's put <{cue}> on the agenda for {date}.",
    "The regulator asked for data on <{cue}>.",
    "I spoke to {colleague} about <{cue}> this morning.",
    "Budget for <{cue}> needs sign-off.",
    "Who owns <{cue}> now that {colleague} has left?",
];

/// Weak distractors per line: that line's word in a neutral sense (no rationale).
const DISTRACTORS: [&[&str]; 10] = [
    &["We had lunch by the river bank.", "The blood bank drive is on {date}."],
    &["Thanks for lending me your charger.", "Can you lend a hand with the offsite?"],
    &["Great pitch at the five-a-side game last night.", "There's a good deal on sandwiches at the canteen."],
    &["The asset tag on my laptop fell off.", "{colleague} is a real asset to the team."],
    &["The premium coffee in the kitchen is gone.", "Bring an umbrella, just as insurance."],
    &["Please sign the leaving card for {colleague}.", "Card games at the social on {date}."],
    &["We were trading stories at lunch.", "{colleague} is swapping desks with me."],
    &["{colleague} brings a wealth of experience.", "Health is wealth, see you at the gym."],
    &["We need more desk space on the fourth floor.", "Check the properties panel of the spreadsheet."],
    &[
        "I have no energy left after this week.",
        "The power went out in the meeting room.",
        "Gold star for {colleague}.",
    ],
];

/// Line-agnostic filler.
const NEUTRAL: &[&str] = &[
    "Thanks for the update.",
    "Let me know if you need anything else.",
    "I'm out of office on {date}.",
    "Can we move our call to {time}?",
    "{colleague} will join as well.",
    "The meeting room on the third floor is booked.",
    "Please send the slides beforehand.",
    "See you at the town hall.",
    "Sorry for the late reply.",
    "I'll circle back after lunch.",
    "Happy to discuss tomorrow.",
    "Reminder that timesheets are due {date}.",
    "Talk soon.",
    "I've copied {colleague} for visibility.",
    "Let's catch up after the {time} meeting.",
    "{colleague} has the details.",
];

const NOTE_HEADERS: &[&str] =
    &["Note {date}:", "Desk note, {date} -", "Call note with {colleague}:", "Memo {date}:", "File note:"];

/// A composed business-line message.
pub(crate) struct Draft {
    pub text: String,
    pub spans: Vec<(usize, [usize; 2])>,
    pub channel: &'static str,
    pub tags: Vec<&'static str>,
}

/// One message about business line `line`.
pub(crate) fn message(g: &mut Gen, line: usize) -> Draft {
    let mut last = None;
    for _ in 0..100 {
        let d = attempt(g, line);
        let words = d.text.split_whitespace().count();
        let cues = d.spans.len();
        let ok = (1..=3).contains(&cues)
            && if d.tags.contains(&"long") {
                (120..=300).contains(&words) && d.text.chars().count() <= 2000
            } else {
                (6..=80).contains(&words)
            };
        if ok {
            return d;
        }
        last = Some(d);
    }
    last.unwrap_or_else(|| attempt(g, line))
}

fn attempt(g: &mut Gen, line: usize) -> Draft {
    g.line = line;
    let long = g.rng.chance(0.07);
    let channel = if long {
        "email"
    } else {
        let x = g.rng.unit();
        if x < 0.4 {
            "chat"
        } else if x < 0.8 {
            "email"
        } else {
            "trade_note"
        }
    };
    g.start_message(channel == "chat");
    let mut core = vec![g.render_any(TEMPLATES[line], Some(line))];
    if g.rng.chance(0.4) {
        core.push(g.render_any(GENERIC, Some(line)));
    }
    let distractor = g.rng.chance(0.10);
    if distractor {
        let other = (line + g.rng.range(1, DISTRACTORS.len() - 1)) % DISTRACTORS.len();
        core.push(g.render_any(DISTRACTORS[other], None));
    }
    g.rng.shuffle(&mut core);

    let builder = if long {
        let paras = long_paragraphs(g, core, FILLER);
        email(g, &paras)
    } else {
        let n = match channel {
            "chat" => g.rng.range(0, 2),
            "email" => g.rng.range(1, 3),
            _ => g.rng.range(0, 1),
        };
        let neutral = g.render_distinct(NEUTRAL, n, None);
        let pieces = interleave(g, neutral, core);
        match channel {
            "chat" => chat(g, &pieces),
            "email" => {
                let paras = paragraphs(g, pieces);
                email(g, &paras)
            }
            _ => note(g, &pieces),
        }
    };
    let mut tags = Vec::new();
    if distractor {
        tags.push("distractor");
    }
    if long {
        tags.push("long");
    }
    Draft { text: builder.text, spans: builder.spans, channel, tags }
}

fn note(g: &mut Gen, pieces: &[Piece]) -> Builder {
    let mut b = Builder::default();
    let header = g.plain_any(NOTE_HEADERS);
    b.push(&header);
    for p in pieces {
        b.push(" ");
        b.piece(p);
    }
    b
}

#[cfg(test)]
pub(crate) fn all_templates() -> Vec<&'static str> {
    let mut v: Vec<&str> = TEMPLATES.iter().flat_map(|t| t.iter().copied()).collect();
    v.extend(GENERIC);
    v
}

#[cfg(test)]
pub(crate) fn plain_templates() -> Vec<&'static str> {
    let mut v: Vec<&str> = DISTRACTORS.iter().flat_map(|t| t.iter().copied()).collect();
    v.extend(NEUTRAL);
    v.extend(NOTE_HEADERS);
    v
}
