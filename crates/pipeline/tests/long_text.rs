//! `--long-text windows` on the tiny model with a window of 12 tokens: every window is the
//! text explained on its own, the document's tokens get the mean over the windows holding
//! them, document scores are the max (multi-label) or the mean (multi-class) over windows,
//! completeness holds per window, and the report covers the whole text.
#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

use explainer_baselines as _;
use explainer_core::{Encoding, Output, ProblemType, Target};
use explainer_deeplift as _;
use explainer_integrated_gradients as _;
use explainer_pipeline::Setup;
use explainer_pipeline::configs::{Setting, baseline_config, method_config};
use explainer_pipeline::long_text::{LongText, explain_text};
use explainer_testing::{TinyClassifier, TinyConfig};

/// 30 words: three windows of 10 text tokens at stride 5 do not reach; five do.
const LONG: &str = "please send the money now or we call you at this number and your address \
                    is not safe love hate fraud spam threat insult ssn me at number address now money";

fn setup(problem: ProblemType, method: &str, target: Target) -> Setup {
    let mut config = TinyConfig { max_len: 12, ..TinyConfig::default() };
    if problem == ProblemType::MultiClass {
        config.labels = ["billing", "support", "sales", "other"].iter().map(|s| s.to_string()).collect();
        config.problem_type = problem;
        config.seed = 11;
    }
    let model = TinyClassifier::new(config).unwrap();
    let settings = if method == "layer-integrated-gradients" {
        vec![Setting::new("n_steps", 8, "test")]
    } else {
        vec![]
    };
    let method = method_config(method, settings).unwrap();
    let baseline = baseline_config("pad", vec![]).unwrap();
    Setup::from_model(Box::new(model), method, baseline, target, Output::Probability).unwrap()
}

/// The windows' encodings, rebuilt from the report's token ranges.
fn window(doc: &Encoding, start: usize, end: usize) -> Encoding {
    let n = doc.len();
    let picks: Vec<usize> = std::iter::once(0).chain(start..end).chain(std::iter::once(n - 1)).collect();
    Encoding {
        ids: picks.iter().map(|&i| doc.ids[i]).collect(),
        type_ids: picks.iter().map(|&i| doc.type_ids[i]).collect(),
        tokens: picks.iter().map(|&i| doc.tokens[i].clone()).collect(),
        offsets: picks.iter().map(|&i| doc.offsets[i]).collect(),
        word_ids: picks.iter().map(|&i| doc.word_ids[i]).collect(),
        special: picks.iter().map(|&i| doc.special[i]).collect(),
        truncated: false,
    }
}

fn check(problem: ProblemType, method: &str) {
    let setup = setup(problem, method, Target::All);
    let explained = explain_text(&setup, LONG, &LongText::windows(Some(4))).unwrap();
    let report = explained.windows.clone().expect("a long text is explained in windows");
    let doc = setup.model.encoder().encode_untruncated(LONG).unwrap();
    assert!(!doc.truncated && doc.len() > 12);
    assert_eq!(explained.attribution.encoding, doc, "the document's tokens are the whole text's");
    assert_eq!(report.window_tokens, 12);
    assert_eq!(report.stride, 4);
    assert!(report.windows.len() >= 6, "{} windows", report.windows.len());

    // Each window, explained on its own, gives the numbers the report holds.
    let windows: Vec<Encoding> =
        report.windows.iter().map(|w| window(&doc, w.token_start, w.token_end)).collect();
    assert!(windows.iter().all(|w| w.len() == 12));
    let alone: Vec<_> =
        windows.iter().map(|w| setup.explain(std::slice::from_ref(w)).unwrap().remove(0)).collect();
    let predictions = setup.model.predictions(&windows.iter().collect::<Vec<_>>()).unwrap();
    let labels = setup.model.info().labels.len();
    for l in 0..labels {
        let column: Vec<f64> = predictions.iter().map(|p| p.scores[l]).collect();
        let expected = match problem {
            ProblemType::MultiLabel => column.iter().copied().fold(f64::MIN, f64::max),
            _ => column.iter().sum::<f64>() / column.len() as f64,
        };
        // Batched and one-at-a-time forwards: f32 rounding of the logits, nothing more.
        assert!((explained.prediction.scores[l] - expected).abs() < 1e-5, "label {l}");
    }
    assert_eq!(report.score_rule, if problem == ProblemType::MultiLabel { "max" } else { "mean" });
    for (t, target) in explained.attribution.targets.iter().enumerate() {
        // The mean over the windows holding each token.
        let mut sum = vec![0.0; doc.len()];
        let mut count = vec![0usize; doc.len()];
        for (w, a) in report.windows.iter().zip(&alone) {
            let positions: Vec<usize> = std::iter::once(0)
                .chain(w.token_start..w.token_end)
                .chain(std::iter::once(doc.len() - 1))
                .collect();
            for (&i, v) in positions.iter().zip(&a.targets[t].tokens) {
                sum[i] += v;
                count[i] += 1;
            }
            // Completeness per window, as the method claims it on the window alone.
            let wt = &w.targets[t];
            assert_eq!(wt.label_index, target.label_index);
            if let Some(delta) = wt.delta {
                assert!((wt.attribution_total - (wt.f_input - wt.f_baseline) - delta).abs() < 1e-9);
            }
            assert!((wt.f_input - a.targets[t].f_input).abs() < 1e-5);
        }
        assert!(count.iter().all(|&c| c > 0), "every token is in a window");
        for i in 0..doc.len() {
            let mean = sum[i] / count[i] as f64;
            assert!(
                (target.tokens[i] - mean).abs() < 1e-5 * (1.0 + mean.abs()),
                "token {i}: {} vs {mean}",
                target.tokens[i]
            );
        }
        assert!(target.delta.is_none(), "no completeness is claimed for the averaged document");
        // The driver: the window with the label's highest score.
        let driver = report.drivers.iter().find(|d| d.label_index == target.label_index).unwrap();
        let best = report.windows.iter().map(|w| w.targets[t].score).fold(f64::MIN, f64::max);
        assert_eq!(report.windows[driver.window].targets[t].score, best);
    }

    // The report covers the whole document, untruncated.
    let explanation = explained.explanation(Some("doc".into()), LONG).unwrap();
    assert!(!explanation.truncated);
    assert_eq!(explanation.words.len(), LONG.split_whitespace().count());
    assert_eq!(explanation.words.last().unwrap().end, LONG.chars().count());
    assert!(explanation.warnings.iter().all(|w| !w.contains("truncated")));
    let json = serde_json::to_value(&explanation).unwrap();
    assert!(json["windows"]["windows"].as_array().unwrap().len() == report.windows.len());
    let html = explainer_report::render_html(&explainer_report::Document::new(
        explainer_pipeline::run_record::run_record(&setup, &explained.attribution.layer).unwrap(),
        vec![explanation.clone()],
    ));
    assert!(html.contains("overlapping windows"));
    assert!(html.contains("ssn"), "the last words are shown");
}

#[test]
fn multi_label_windows_with_integrated_gradients() {
    check(ProblemType::MultiLabel, "layer-integrated-gradients");
}

#[test]
fn multi_class_windows_with_deeplift() {
    check(ProblemType::MultiClass, "deeplift");
}

#[test]
fn truncate_stays_the_default_and_warns() {
    let setup = setup(ProblemType::MultiLabel, "deeplift", Target::Predicted);
    let explained = explain_text(&setup, LONG, &LongText::default()).unwrap();
    assert!(explained.windows.is_none());
    let explanation = explained.explanation(None, LONG).unwrap();
    assert!(explanation.truncated);
    assert!(explanation.warnings.iter().any(|w| w.contains("truncated")));
    let json = serde_json::to_value(&explanation).unwrap();
    assert!(json.get("windows").is_none(), "reports of the truncate mode are unchanged");
}

#[test]
fn a_short_text_is_explained_whole_in_windows_mode() {
    let setup = setup(ProblemType::MultiLabel, "deeplift", Target::Predicted);
    let explained = explain_text(&setup, "send the money now", &LongText::windows(None)).unwrap();
    assert!(explained.windows.is_none());
    assert!(!explained.attribution.encoding.truncated);
}

#[test]
fn a_stride_larger_than_the_window_is_refused_by_name() {
    let setup = setup(ProblemType::MultiLabel, "deeplift", Target::Predicted);
    let err = explain_text(&setup, LONG, &LongText::windows(Some(11))).unwrap_err();
    assert!(err.to_string().contains("--stride"), "{err}");
}
