//! Texts longer than the model's window through the facade's `Explainer`: with
//! `with_long_text(LongText::windows(..))` a document is explained in overlapping windows and
//! the explanation holds document-level attributions over the whole text plus the per-window
//! section; a spec file carries the setting. The model is a fixture checkpoint whose window is
//! 64 tokens.

#![allow(clippy::unwrap_used)] // test helpers may panic

#[cfg(feature = "pipeline")]
mod windows {
    use explainer::pipeline::long_text::LongText;
    use explainer::{Explainer, explainers};

    fn fixture() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../transformers/tests/fixtures/bert-tiny-multilabel")
    }

    /// ~130 tokens with [CLS]/[SEP]: about twice the window.
    fn document() -> String {
        let words = "the customer said the payment was refunded twice and the bank flagged the account \
                     for review while the support team checked every transfer"
            .split(' ')
            .collect::<Vec<_>>();
        (0..90).map(|i| words[i % words.len()]).collect::<Vec<_>>().join(" ")
    }

    fn build() -> Explainer {
        explainers::get("classify").unwrap().build_from_dir(fixture()).unwrap()
    }

    #[test]
    fn a_long_text_is_explained_in_windows_with_document_level_attributions() {
        let text = document();
        let mut explainer = build().with_long_text(LongText::windows(Some(16))).unwrap();
        assert_eq!(explainer.long_text(), LongText::windows(Some(16)));
        let explanation = explainer.explain(&text).unwrap();

        // The whole document, not its first 64 tokens.
        assert!(!explanation.truncated);
        assert!(explanation.warnings.iter().all(|w| !w.contains("truncated")), "{:?}", explanation.warnings);
        assert_eq!(explanation.words.len(), text.split(' ').count());
        assert_eq!(explanation.words.last().unwrap().end, text.chars().count());
        let windows = explanation.windows.as_ref().expect("a text longer than the window has windows");
        assert_eq!((windows.window_tokens, windows.stride), (64, 16));
        assert_eq!(windows.score_rule, "max", "a multi-label model's document score is the max");
        assert!(windows.windows.len() >= 3, "{} windows", windows.windows.len());
        // The windows cover the text from its first to its last character.
        assert_eq!(windows.windows[0].start, 0);
        assert_eq!(windows.windows.last().unwrap().end, text.chars().count());
        for target in &explanation.targets {
            assert_eq!(target.word_attributions.len(), explanation.words.len());
            assert!(target.word_attributions.iter().all(|a| a.is_finite()));
            assert!(target.delta.is_none(), "the averaged document claims no completeness");
            // The driving window holds the label's document score (the maximum).
            let driver = windows.drivers.iter().find(|d| d.label == target.label).unwrap();
            let scores: Vec<f64> = windows
                .windows
                .iter()
                .map(|w| w.targets.iter().find(|t| t.label == target.label).unwrap().score)
                .collect();
            let best = scores.iter().copied().fold(f64::MIN, f64::max);
            assert_eq!(scores[driver.window], best);
            assert!((target.score - best).abs() < 1e-12);
        }
        // Completeness per window, up to that window's own delta.
        for w in &windows.windows {
            for t in &w.targets {
                let delta = t.delta.unwrap();
                assert!(
                    (t.attribution_total - (t.f_input - t.f_baseline) - delta).abs() < 1e-6,
                    "window {}",
                    w.index
                );
            }
        }

        // A named class and every label go through the windows too.
        let one = explainer.explain_class(&text, "spam").unwrap();
        assert_eq!(one.targets.len(), 1);
        assert_eq!(one.targets[0].label, "spam");
        assert!(one.windows.as_ref().unwrap().windows.iter().all(|w| w.targets.len() == 1));
        let all = explainer.explain_all(&text).unwrap();
        assert_eq!(all.targets.len(), 5);
        assert!(explainer.visualize().unwrap().contains("overlapping windows"));
    }

    #[test]
    fn truncate_stays_the_default_and_bad_strides_are_refused() {
        let text = document();
        let mut explainer = build();
        assert_eq!(explainer.long_text(), LongText::default());
        let explanation = explainer.explain(&text).unwrap();
        assert!(explanation.truncated && explanation.windows.is_none());
        assert!(explanation.warnings.iter().any(|w| w.contains("truncated")));
        // A short text is explained whole in windows mode: no windows section.
        let mut windows = build().with_long_text(LongText::windows(None)).unwrap();
        assert!(windows.explain("the payment was refunded").unwrap().windows.is_none());
        assert!(
            build().with_long_text(LongText::windows(Some(0))).unwrap_err().to_string().contains("stride")
        );
        // Larger than the window's 62 text tokens: refused on the long text, naming the stride.
        let mut wide = build().with_long_text(LongText::windows(Some(63))).unwrap();
        assert!(wide.explain(&text).unwrap_err().to_string().contains("stride"));
    }

    #[test]
    fn a_spec_file_carries_the_long_text_setting() {
        let text = document();
        let mut explainer = build().with_long_text(LongText::windows(Some(20))).unwrap();
        let spec = explainer.to_spec("long-mails", "default").unwrap();
        assert_eq!(spec.entry_points[0].long_text, LongText::windows(Some(20)));
        let yaml = spec.to_yaml().unwrap();
        assert!(
            yaml.contains("long_text:") && yaml.contains("mode: windows") && yaml.contains("stride: 20"),
            "{yaml}"
        );
        let path = std::env::temp_dir().join(format!("explainer-long-text-spec-{}.yaml", std::process::id()));
        std::fs::write(&path, &yaml).unwrap();
        let mut from_spec = Explainer::from_spec(&path, None).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(from_spec.long_text(), LongText::windows(Some(20)));
        let a = explainer.explain(&text).unwrap();
        let b = from_spec.explain(&text).unwrap();
        assert_eq!(a.windows, b.windows);
        assert_eq!(a.targets.len(), b.targets.len());
        for (x, y) in a.targets.iter().zip(&b.targets) {
            assert_eq!(x.word_attributions, y.word_attributions);
        }
        // A spec without `long_text` (all specs written before it existed) truncates.
        let old = yaml
            .lines()
            .filter(|l| !l.contains("long_text") && !l.contains("mode: windows") && !l.contains("stride: 20"))
            .collect::<Vec<_>>()
            .join("\n");
        let old_path =
            std::env::temp_dir().join(format!("explainer-long-text-old-spec-{}.yaml", std::process::id()));
        std::fs::write(&old_path, old).unwrap();
        let truncating = Explainer::from_spec(&old_path, None).unwrap();
        std::fs::remove_file(&old_path).unwrap();
        assert_eq!(truncating.long_text(), LongText::default());
    }
}
