//! The compliance task: templates per label, negations, distractors, neutral filler, and the
//! composition of chat lines, e-mails and trade notes.

use crate::template::{Builder, Gen, Piece};

/// Label ids (indices into `COMPLIANCE_LABELS`).
const PERSONAL_DATA: usize = 0;
const INSIDER: usize = 1;
const BRIBERY: usize = 2;
const HARASSMENT: usize = 3;
const MANIPULATION: usize = 4;
const CONFIDENTIALITY: usize = 5;
const OFF_CHANNEL: usize = 6;

const PERSONAL_DATA_T: &[&str] = &[
    "Here is (her|his) <(passport number|passport no.|passport #) {passport}>, can you update the file?",
    "(Client|Customer) {name}, <SSN {ssn}>, needs the form signed today.",
    "Sending you {name}'s <(social security number|SSN|social security no.) {ssn}> (for the transfer|so you can finish the application|as requested).",
    "<DOB {dob}> and <home address {address}> for the new account holder.",
    "Can you check this <card number {card}> for {name}? (She|He) says it was declined.",
    "(Her|His) <IBAN is {iban}>, please wire the refund there.",
    "<{name} lives at {address}>, send the statements there, <date of birth {dob}>.",
    "I pasted the client's <passport scan> and <passport number {passport}> (into the chat|below|in the thread).",
    "For the KYC file: <full name {name}, SSN {ssn}, born {dob}>.",
    "Just read me back the <card number {card}> and the <expiry {expiry}>.",
    "The customer's <home address is {address}> and (her|his) <(mobile|phone number) is {phone}>.",
    "Attaching a spreadsheet with <client names, dates of birth and account numbers> for the whole {city} branch.",
    "(FYI|Quick one), {name}'s <bank account {account}> and <sort code {sortcode}> are below.",
    "Text me (her|his) <passport number> when you get it, I think it's <{passport}>.",
    "<Date of birth: {dob}, passport {passport}>, that's {name}, the new private client.",
    "(Can you|Could you) look up who lives at <{address}>? (It's|That's) {name}'s <home address>.",
    "Pls use <card {card}, exp {expiry}> for {name}'s booking.",
    "Sharing {name}'s <(national insurance|social security) number {ssn}> so ops can match the account.",
];

const INSIDER_T: &[&str] = &[
    "The <merger with {target_co} is announced {date}>, <keep it quiet> and <buy before (the news|it's out)>.",
    "<Earnings will miss> this quarter, <not public yet>, (trim|cut) the position.",
    "Heard from the deal team that <{target_co} is being acquired> (at a big premium|next month). <Load up on {ticker} before {date}>.",
    "<Don't tell anyone>, but <{company} is going to cut guidance> on {date}.",
    "My contact on the board says <the drug approval comes through next week>, <get in early>.",
    "<Before the announcement hits the wire>, <buy {ticker} calls> for my personal account.",
    "<We are advising {company} on the takeover>, so <grab some shares now> while it's cheap.",
    "<The results leak> says <revenue is down {pct}>, <sell before the release>.",
    "<Inside tip>: <{company} will announce a buyback {date}>.",
    "<Project {codename} is a go>, <the bid for {target_co} lands {date}>. <Not a word to anyone>.",
    "Got it from the CFO himself: <the dividend gets cut on {date}>, <dump {ticker} today>.",
    "<Material non-public info> from the {city} roadshow: <they'll miss the {quarter} numbers>.",
    "<The rating downgrade is coming {date}>, <nobody outside knows yet>, short it.",
    "<Buy {qty} {ticker} before the deal is public>.",
    "<{company}'s CEO is resigning {date}>, <it's not out yet>, (sell|get out of) {ticker}.",
    "<Our client is about to bid for {target_co}>, (tell your brother|tell your dad|let your wife know) to <buy the stock>.",
    "<The profit warning goes out {date}>, <offload {ticker} before then>.",
];

const BRIBERY_T: &[&str] = &[
    "Put <an envelope for {official}> in the folder, <{small_amount} in cash> should do.",
    "<We'll cover his holiday in {resort} if he signs> the contract.",
    "<The {pct} kickback> goes to {first}'s brother's account as agreed.",
    "<Send {official} a Rolex> and <the tender is ours>.",
    "<Book {official} a first-class trip to {resort}> and <call it a thank you for the mandate>.",
    "Just <slip him {small_amount}> and <he'll approve the licence>.",
    "<Pay the consultancy fee to the minister's cousin>, <that's how we win the {city} deal>.",
    "<Tickets to the final for their CFO>, <in exchange for the mandate>.",
    "<Invoice it as marketing> so <nobody sees the payment to the official>.",
    "<He wants {small_amount} under the table> before he signs off the loan.",
    "<Offer {official} a job for his son> and <they will pick us>.",
    "<Facilitation payment> to customs, <{small_amount}, no receipt>.",
    "<A little sweetener for {official}> should get the contract over the line.",
    "<Cash gift for the pension trustee> if <he moves the account to us>.",
    "<Wire {small_amount} to {official}'s offshore account> (once|as soon as) the contract is signed.",
    "Tell {official} <we'll pay for the wedding if {company} picks us>.",
    "<Give the inspector {small_amount}> and <the audit goes away>.",
];

const HARASSMENT_T: &[&str] = &[
    "<{colleague} is a useless idiot> and <everyone knows it>.",
    "Tell {colleague} <if (she|he) screws this up again I'll make (her|his) life hell>.",
    "<Shut up and do what you're told>, {colleague}.",
    "<Nobody wants you on this desk>, {colleague}, <just quit>.",
    "<You're too stupid to read a term sheet>, {colleague}.",
    "<Watch your back> {colleague}, <I know where you park>.",
    "<Go cry somewhere else>, <you pathetic little intern>.",
    "<{colleague} only got promoted because of (her|his) looks>.",
    "<Keep talking and you'll regret it>, {colleague}.",
    "<What a moron>, <{colleague} can't even book a meeting room>.",
    "<I'll get you fired>, <you worthless clown>.",
    "<Send {colleague} back to the typing pool>, <(she|he) is a joke>.",
    "<Stop acting like a brainless child>, {colleague}.",
    "<People like you don't belong in finance>.",
    "<If you report me to HR you'll be sorry>, {colleague}.",
    "Honestly <{colleague} is (fat|ugly|dumb) and (lazy|useless)>, (no wonder|that's why) the team hates (her|him).",
    "<One more mistake and I'll (break your fingers|throw your laptop out the window)>, {colleague}.",
];

const MANIPULATION_T: &[&str] = &[
    "<Push the price up before the close>, <{qty} {ticker} in the last five minutes>.",
    "<Layer some fake bids> under the market and <cancel them> once it ticks up.",
    "<Spoof the offer side> in {ticker} so the algos follow.",
    "<Wash trade between the two accounts> to <pump the volume>.",
    "Let's <pump {ticker} in the chat rooms> and <dump it> on {date}.",
    "<Mark the close> on {ticker} today, <we need the month-end print higher>.",
    "<Buy it back from our own account> so <the volume looks real>.",
    "<Place big orders you never intend to fill> to <move the price>.",
    "<Paint the tape> on {ticker} with small prints all afternoon.",
    "<Keep {ticker} above {price} into the fixing>, whatever it takes.",
    "<Ramp the price> before we sell the block to {company}.",
    "<Corner the float> in {ticker} so the shorts get squeezed.",
    "<Stuff the book with orders at {price}> then <pull them all at once>.",
    "<Trade with ourselves at {price}> to set the benchmark.",
    "{ticker}: <layering bids {price} to {price2}>, <cancel after the uptick>.",
    "<Bang the close> with {qty} {ticker} so the fund's NAV looks better.",
    "<Post a fake offer of {qty}> and <pull it> when they lift.",
];

const CONFIDENTIALITY_T: &[&str] = &[
    "<Forwarding {doc} to my personal email> so I can work on it at home.",
    "I'll <send the client list to {outsider}>, <they'll find it useful>.",
    "<Sent {doc} to my gmail>, <{email_addr}>, in case IT locks us out.",
    "<Share the internal pricing model with the team at {company}>, <they're our competitor> but whatever.",
    "<Copy {doc} onto a USB stick> and <take it with you> when you leave.",
    "<Leak the draft prospectus to the journalist> from the {city} paper.",
    "Can you <email {doc} to {outsider}>? <Don't go through compliance>.",
    "<Upload the board minutes to my Dropbox>, the VPN is too slow.",
    "<I gave {outsider} a copy of {doc}>, (he|she) owes me one.",
    "<Print the strictly confidential term sheet> and <leave a copy with {outsider}>.",
    "<Take the customer database to your new job>, nobody will check.",
    "<Bcc {email_addr} on everything> about Project {codename}.",
    "<Screenshot the internal memo and send it to {outsider}>.",
    "<Pass the restricted list to {outsider}> before the news.",
    "Just <forward {doc} to {email_addr}>, I'll read it on the beach.",
    "<{company} would pay good money for {doc}>, <I'll send it over tonight>.",
    "<I'm sending our confidential client pipeline to {outsider}> (so they can help|for a second opinion).",
];

const OFF_CHANNEL_T: &[&str] = &[
    "<Let's move this to {app}>, <the chat here is recorded>.",
    "<Call me on my personal phone> about {ticker}, <not on the desk line>.",
    "<Ping me on {app}> instead, <easier to keep it off the record>.",
    "<Delete this chat> after you read it.",
    "<Text me on my own number> for the rest of the details.",
    "<Switch to {app}>, <compliance reads everything here>.",
    "<Don't put this in email>, <ring my mobile> tonight.",
    "<Set the messages to disappear> and <we can talk about the {company} deal>.",
    "<Take it offline>: <my private cell is {phone}>.",
    "<Use your personal {app}> for anything about the {company} order.",
    "<We'll sort the pricing over {app}>, <not on the bank's system>.",
    "<Wipe the thread> before the audit on {date}.",
    "<Send it to my personal {app}>, <the recorded line is a pain>.",
    "<Continue on {app}>, <I've turned off the backups>.",
    "<Message me on {app} about {ticker}>, (not here|not on Bloomberg|keep it off the bank chat).",
    "<Erase these messages> once the {company} trade is done.",
    "<Call my wife's phone> instead of the desk line, <they tape everything here>.",
];

/// Templates per label, in label id order.
pub(crate) const TEMPLATES: [&[&str]; 7] =
    [PERSONAL_DATA_T, INSIDER_T, BRIBERY_T, HARASSMENT_T, MANIPULATION_T, CONFIDENTIALITY_T, OFF_CHANNEL_T];

/// Negated statements (no label), with the label each one negates.
pub(crate) const NEGATIONS: &[(usize, &str)] = &[
    (PERSONAL_DATA, "I will never share a client's passport number over chat."),
    (PERSONAL_DATA, "Reminder: (never|do not) put client dates of birth in email."),
    (PERSONAL_DATA, "Not sharing the SSN here, I'll enter it directly in the system."),
    (PERSONAL_DATA, "Please don't send card numbers or IBANs in messages, use the secure portal."),
    (PERSONAL_DATA, "We never disclose a customer's home address to anyone."),
    (INSIDER, "We don't trade on rumours about {company}, wait for the public announcement."),
    (INSIDER, "Nothing here is inside information, it's all from the public filing."),
    (INSIDER, "Do not buy {ticker} before the results, we are on the insider list."),
    (INSIDER, "I won't tell anyone about the deal, and nobody on the desk trades it."),
    (BRIBERY, "We do not accept gifts from vendors, please return the hamper."),
    (BRIBERY, "No kickbacks, no envelopes, no exceptions, that's the policy."),
    (BRIBERY, "We do not pay facilitation fees to officials, full stop."),
    (BRIBERY, "I refused the holiday the vendor offered, it's not allowed."),
    (BRIBERY, "Never offer {official} cash or gifts, even small ones."),
    (HARASSMENT, "Don't ever insult colleagues, even as a joke, per the new code of conduct."),
    (HARASSMENT, "I would never call {colleague} an idiot, (she|he) did great work."),
    (HARASSMENT, "Nobody should threaten a colleague, report it to HR if it happens."),
    (MANIPULATION, "We will not push the price before the close, the order is worked with VWAP."),
    (MANIPULATION, "We never place orders we don't intend to fill."),
    (MANIPULATION, "No wash trades and no spoofing on this desk, ever."),
    (MANIPULATION, "Don't mark the close on {ticker}, just work the order normally."),
    (CONFIDENTIALITY, "Please don't forward {doc} outside the firm."),
    (CONFIDENTIALITY, "Never send client files to personal email addresses."),
    (CONFIDENTIALITY, "I didn't give {outsider} any documents, I told them to go through legal."),
    (CONFIDENTIALITY, "Do not share the internal pricing model with {company}."),
    (OFF_CHANNEL, "Do not move this to {app}, keep it on the recorded line."),
    (OFF_CHANNEL, "Please don't delete any chats, we're under a record-keeping review."),
    (OFF_CHANNEL, "Don't use Signal or WhatsApp for client business, only the recorded channels."),
    (OFF_CHANNEL, "I won't text you from my personal phone, let's keep it on the bank chat."),
];

/// Risky-looking but harmless sentences (no label, no rationale).
pub(crate) const DISTRACTORS: &[&str] = &[
    "The gift shop in the lobby is closed until {date}.",
    "Did you read the Insider newsletter this morning?",
    "{company} is funding a pump station upgrade in {city}.",
    "The signal processing team is joining the lunch-and-learn.",
    "The confidential bin for shredding is full again.",
    "There's birthday cake in the kitchen for {colleague}.",
    "The passport photo booth near reception is broken.",
    "(Funny|Interesting) WhatsApp outage article on the news site today.",
    "We're going to the Signal Hill restaurant for the team dinner.",
    "The kickboxing class moved to Thursday.",
    "Who left the envelope of receipts for the expense report on my desk?",
    "The holiday calendar for next year is on the intranet.",
    "Delete the duplicate calendar invite for {date}, I sent it twice.",
    "My personal phone's battery died, reply here on the bank chat.",
    "The address for the offsite is on the invite.",
    "The layered cake from the bakery was amazing.",
    "The security training explains why insider trading is illegal.",
    "Our pump track cycling event is on Saturday.",
    "The car wash in the basement car park is closed.",
    "It's {colleague}'s birthday next week, let's get a card.",
    "The Insider Threat awareness module is due {date}.",
    "The close of the conference is at {time}, drinks after.",
    "The traffic signal outside the office is out again.",
    "Please bring a gift for the secret Santa, budget is ten pounds.",
];

const CHAT_NEUTRAL: &[&str] = &[
    "Can you join the {time} call?",
    "Running (10|15|five) minutes late.",
    "Thanks for the update on {company}.",
    "Lunch at {time}?",
    "I'll send the slides after the meeting.",
    "Client call went fine.",
    "Who's covering the desk tomorrow?",
    "Did {colleague} get back to you?",
    "Need the {company} numbers by EOD.",
    "Let me check and revert.",
    "Sounds good, (let's do that|go ahead).",
    "Back at my desk in five.",
    "Are we still on for {date}?",
    "{colleague} is out sick today.",
    "The system is slow again.",
    "Can you review the deck before {time}?",
    "Any update from {company}?",
    "Noted, thanks.",
    "Coffee?",
    "I'm on the train, will reply soon.",
    "Meeting moved to {time}.",
    "Has the {company} onboarding gone through?",
    "(ok|OK|okay), will do.",
    "Can you resend the invite for {date}?",
    "The {city} team wants a quick catch-up.",
];

const EMAIL_NEUTRAL: &[&str] = &[
    "Please find attached the minutes from {date}.",
    "Following up on our conversation about the {company} account.",
    "Let me know if you have any questions.",
    "I have booked room {num} for {time}.",
    "The quarterly review is scheduled for {date}.",
    "Thanks for your help with the {company} onboarding.",
    "I will be out of the office from {date}.",
    "Could you confirm the agenda for the {city} visit?",
    "The updated checklist is on the shared drive.",
    "{colleague} will cover my clients while I am away.",
    "Please review the attached draft and send comments by {date}.",
    "As discussed, the follow-up call is at {time}.",
    "We are still waiting on the signed paperwork from {company}.",
    "The training deadline is {date}.",
    "Happy to set up a call if useful.",
    "I hope you had a good weekend.",
    "Thanks for the quick turnaround on this.",
    "{colleague} from the {city} office is copied for visibility.",
];

const TRADE_HEADERS: &[&str] = &[
    "{side} {qty} {ticker} @ {price}.",
    "{date}: {side} {qty} {ticker} at {price} for {company}.",
    "TRADE NOTE {ticker} - {side} {qty} @ {price}.",
    "{ticker} {side} {qty}, avg px {price}.",
    "Ticket {account}: {side} {qty} {ticker}, limit {price}.",
    "{ticker} / {side} / {qty} / {price}.",
];

const TRADE_NEUTRAL: &[&str] = &[
    "Order worked via VWAP, {pct} filled.",
    "Booked to account {account}.",
    "Limit {price}, good till cancelled.",
    "Partial fill, remainder working.",
    "Client {company} confirmed the allocation.",
    "Settles T+2.",
    "Commission {bps} bps.",
    "Risk approved by {colleague}.",
    "Allocation split across {num} funds.",
    "Executed on exchange, no issues.",
    "Counterparty {company}.",
    "Hedge with {qty} {ticker} futures.",
];

pub(crate) const CHAT_GREETINGS: &[&str] = &[
    "hey",
    "hi {recipient}",
    "yo",
    "morning",
    "quick one",
    "@{recipient}",
    "{recipient},",
    "hey {recipient},",
];
pub(crate) const CHAT_TAILS: &[&str] = &["thx", "lol", "cheers", "asap pls", "ta", ":)", "ok?", "k"];
pub(crate) const EMAIL_GREETINGS: &[&str] = &[
    "Hi {recipient},",
    "Hello {recipient},",
    "Dear {recipient},",
    "Morning {recipient},",
    "{recipient},",
    "Hi team,",
    "Good afternoon {recipient},",
];
pub(crate) const SIGNOFFS: &[&str] =
    &["Best regards", "Kind regards", "Thanks", "Cheers", "Best", "Many thanks", "Regards"];

/// Meeting notes and logistics, for long e-mails.
pub(crate) const FILLER: &[&str] = &[
    "The offsite will be held in {city} on {date}, and the coach leaves the main entrance at 8am.",
    "Please submit your expense claims for last month before the finance cut-off on {date}.",
    "Room bookings for the quarterly review are confirmed, and the agenda will follow tomorrow.",
    "Minutes from the last steering committee: the migration of the reporting tool is on track.",
    "{colleague} presented the new onboarding workflow, which removes several manual steps for operations.",
    "IT will upgrade the laptops on our floor next week, so please back up your files.",
    "The canteen will be closed on {date} for refurbishment, and vouchers will be provided.",
    "We agreed to review the headcount plan again at the next meeting.",
    "Action items: {colleague} to circulate the revised timeline, and the project team to confirm dependencies.",
    "The fire drill is scheduled for {date} at {time}, please follow the wardens.",
    "Parking permits for the new car park can be requested through the facilities portal.",
    "The town hall will be streamed for colleagues in {city}.",
    "Feedback from the last survey was broadly positive, especially about flexible working.",
    "Training sessions on the new document system are available every Tuesday morning.",
    "Please remember to update your out-of-office reply when travelling.",
    "We discussed the client satisfaction scores, which improved slightly this quarter.",
    "The next steering committee meeting is on {date} in room {num}.",
    "Catering for the workshop has been ordered for twenty people.",
    "Travel requests for the {city} conference need approval from your line manager.",
    "The quarterly newsletter is looking for short articles from each team.",
    "Thanks again to everyone who helped organise the charity run.",
    "The review of the filing system found no major issues.",
    "We will pilot the new room booking app on the fifth floor.",
    "Please complete the mandatory training modules by the end of the month.",
    "Desk moves are planned for the weekend, so clear your drawers by Friday.",
    "The visitor policy has been updated, and guests must now sign in at reception.",
    "Our team lunch is booked for {date} at the Italian place near the station.",
    "Several colleagues asked for a clearer escalation path, so {colleague} will draft one.",
    "The shared drive will be read-only during the maintenance window on {date}.",
    "We reviewed the project log and closed three open items.",
    "Please let me know your availability for the planning session early next month.",
    "The new joiners will shadow the team for their first two weeks.",
    "{colleague} will take notes at the workshop and share them afterwards.",
    "The slides from the {city} presentation are saved in the team folder.",
    "There was a short discussion about the office temperature, facilities are looking into it.",
    "We still need two volunteers for the graduate recruitment day on {date}.",
];

/// How many labels a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    None,
    Single,
    Multi,
}

/// A composed message before it gets its id.
pub(crate) struct Draft {
    pub text: String,
    pub spans: Vec<(usize, [usize; 2])>,
    pub labels: Vec<usize>,
    pub channel: &'static str,
    pub tags: Vec<&'static str>,
}

/// Inserts each of `core` at a random position among `neutral`.
pub(crate) fn interleave(g: &mut Gen, mut neutral: Vec<Piece>, core: Vec<Piece>) -> Vec<Piece> {
    for p in core {
        let at = g.rng.below(neutral.len() + 1);
        neutral.insert(at, p);
    }
    neutral
}

/// Chat line: optional greeting, sentences, optional tail; sometimes all lower case.
pub(crate) fn chat(g: &mut Gen, pieces: &[Piece]) -> Builder {
    let mut b = Builder::default();
    if g.rng.chance(0.35) {
        let greeting = g.plain_any(CHAT_GREETINGS);
        b.push(&greeting);
        b.push(" ");
    }
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            let punctuated = pieces[i - 1].text.ends_with(['.', '?', '!', ':', ',', ')']);
            let sep = match g.rng.below(10) {
                0..=1 => "\n",
                2 if !punctuated => " - ",
                3 if !punctuated => ", ",
                4 if !punctuated => ". ",
                _ => " ",
            };
            b.push(sep);
        }
        b.piece(p);
    }
    if g.rng.chance(0.2) {
        let tail = *g.rng.pick(CHAT_TAILS);
        b.push(" ");
        b.push(tail);
    }
    if g.rng.chance(0.35) {
        // ASCII lower-casing keeps every character in place, so the spans stay valid.
        b.text.make_ascii_lowercase();
    }
    b
}

/// E-mail: greeting, paragraphs, sign-off with the sender's name.
pub(crate) fn email(g: &mut Gen, paragraphs: &[Vec<Piece>]) -> Builder {
    let mut b = Builder::default();
    let greeting = g.plain_any(EMAIL_GREETINGS);
    b.push(&greeting);
    for para in paragraphs {
        b.push("\n\n");
        for (i, p) in para.iter().enumerate() {
            if i > 0 {
                b.push(" ");
            }
            b.piece(p);
        }
    }
    let signoff = *g.rng.pick(SIGNOFFS);
    b.push("\n\n");
    b.push(signoff);
    b.push(",\n");
    let name = if g.rng.chance(0.3) { g.sender.clone() } else { g.fill("sender_full") };
    b.push(&name);
    if g.rng.chance(0.4) {
        let title = g.fill("title");
        b.push("\n");
        b.push(&title);
    }
    b
}

/// Splits pieces into one or two paragraphs.
pub(crate) fn paragraphs(g: &mut Gen, mut pieces: Vec<Piece>) -> Vec<Vec<Piece>> {
    if pieces.len() >= 3 && g.rng.chance(0.5) {
        let at = g.rng.range(1, pieces.len() - 1);
        let rest = pieces.split_off(at);
        vec![pieces, rest]
    } else {
        vec![pieces]
    }
}

/// Long e-mail body: filler paragraphs with the core pieces placed anywhere.
pub(crate) fn long_paragraphs(g: &mut Gen, core: Vec<Piece>, filler: &[&str]) -> Vec<Vec<Piece>> {
    let target = g.rng.range(135, 250);
    let mut words: usize = core.iter().map(Piece::words).sum();
    let mut sentences = g.render_distinct(filler, filler.len(), None).into_iter();
    let mut paras: Vec<Vec<Piece>> = Vec::new();
    while words < target {
        let n = g.rng.range(2, 4);
        let para: Vec<Piece> = sentences.by_ref().take(n).collect();
        if para.is_empty() {
            break;
        }
        words += para.iter().map(Piece::words).sum::<usize>();
        paras.push(para);
    }
    if paras.is_empty() {
        paras.push(Vec::new());
    }
    for p in core {
        let i = g.rng.below(paras.len());
        let at = g.rng.below(paras[i].len() + 1);
        paras[i].insert(at, p);
    }
    paras
}

/// Trade note: a header line, then comments.
fn trade_note(g: &mut Gen, pieces: &[Piece]) -> Builder {
    let mut b = Builder::default();
    let header = g.plain_any(TRADE_HEADERS);
    b.push(&header);
    let sep = if g.rng.chance(0.4) { "\n" } else { " " };
    if g.rng.chance(0.3) && !pieces.is_empty() {
        b.push(sep);
        let tag = *g.rng.pick(&["Note:", "Comment:", "Desk:", "NB"]);
        b.push(tag);
        b.push(" ");
    } else if !pieces.is_empty() {
        b.push(sep);
    }
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            b.push(" ");
        }
        b.piece(p);
    }
    b
}

/// One compliance message of the given kind.
pub(crate) fn message(g: &mut Gen, kind: Kind) -> Draft {
    let mut last = None;
    for _ in 0..100 {
        let d = attempt(g, kind);
        let words = d.text.split_whitespace().count();
        let long = d.tags.contains(&"long");
        let ok = if long {
            (120..=300).contains(&words) && d.text.chars().count() <= 2000
        } else {
            (6..=80).contains(&words)
        };
        if ok {
            return d;
        }
        last = Some(d);
    }
    last.unwrap_or_else(|| attempt(g, kind))
}

fn attempt(g: &mut Gen, kind: Kind) -> Draft {
    let k = match kind {
        Kind::None => 0,
        Kind::Single => 1,
        Kind::Multi => {
            if g.rng.chance(0.7) {
                2
            } else {
                3
            }
        }
    };
    let mut ids: Vec<usize> = (0..TEMPLATES.len()).collect();
    g.rng.shuffle(&mut ids);
    let mut labels: Vec<usize> = ids[..k].to_vec();
    labels.sort_unstable();

    let long = g.rng.chance(0.07);
    let channel = if long {
        "email"
    } else {
        let x = g.rng.unit();
        if x < 0.45 {
            "chat"
        } else if x < 0.80 {
            "email"
        } else {
            "trade_note"
        }
    };
    g.start_message(channel == "chat");

    let distractor = g.rng.chance(if k == 0 { 0.40 } else { 0.07 });
    let negation = g.rng.chance(if k == 0 { 0.30 } else { 0.03 });

    let mut core = Vec::new();
    for &l in &labels {
        let t = *g.rng.pick(TEMPLATES[l]);
        core.push(g.render(t, Some(l)));
    }
    if distractor {
        let t = *g.rng.pick(DISTRACTORS);
        core.push(g.render(t, None));
    }
    let mut negated = false;
    if negation {
        let options: Vec<&str> =
            NEGATIONS.iter().filter(|(l, _)| !labels.contains(l)).map(|&(_, t)| t).collect();
        if !options.is_empty() {
            let t = *g.rng.pick(&options);
            core.push(g.render(t, None));
            negated = true;
        }
    }
    g.rng.shuffle(&mut core);

    let builder = if long {
        let paras = long_paragraphs(g, core, FILLER);
        email(g, &paras)
    } else {
        let (pool, n) = match channel {
            "chat" => (CHAT_NEUTRAL, if core.is_empty() { g.rng.range(1, 3) } else { g.rng.range(0, 2) }),
            "email" => (EMAIL_NEUTRAL, g.rng.range(1, 3)),
            _ => (TRADE_NEUTRAL, g.rng.range(0, 2)),
        };
        let neutral = g.render_distinct(pool, n, None);
        let pieces = interleave(g, neutral, core);
        match channel {
            "chat" => chat(g, &pieces),
            "email" => {
                let paras = paragraphs(g, pieces);
                email(g, &paras)
            }
            _ => trade_note(g, &pieces),
        }
    };

    let mut tags = Vec::new();
    if distractor {
        tags.push("distractor");
    }
    if negated {
        tags.push("negation");
    }
    if long {
        tags.push("long");
    }
    if k >= 2 {
        tags.push("multi");
    }
    Draft { text: builder.text, spans: builder.spans, labels, channel, tags }
}
