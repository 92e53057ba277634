//! The `report` page of the real KEP history in a real browser (headless Chromium): string checks
//! on the HTML cannot show that it renders or that its inline script runs; this can.
//!
//! Skips where Chromium is missing, unless `KEPGUARD_REQUIRE_BROWSER` is set (non-empty): `.ci/run`
//! sets it, so CI cannot pass by skipping. `KEPGUARD_CHROMIUM` names another Chromium binary.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

use common::{clone_corpus, kepguard_in, output_unless_hung};

/// Headless, as root in a container (no sandbox), without a GPU, and without the background
/// connections (updates, sync, QUIC probes) that a machine without network refuses noisily.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Lets the page's load handlers and timers run before the DOM is dumped. The time is virtual: it
/// runs fast once the page is idle, so the budget costs no wall time.
const SETTLE: &str = "--virtual-time-budget=5000";

#[test]
fn report_page_renders_filters_and_raises_no_errors_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(repo) = clone_corpus(tmp.path(), "k.git") else {
        return;
    };
    let html = tmp.path().join("keps.html");
    let out = kepguard_in(
        &repo,
        &[
            "report",
            "--repo",
            repo.to_str().unwrap(),
            "--out",
            html.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "kepguard report exited {:?}; stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    // Chromium shows an empty or cut-off file as a blank page without a word: say so here.
    let written = std::fs::read_to_string(&html).unwrap_or_default();
    assert!(
        written.contains("<head>") && written.contains("</body>"),
        "kepguard report wrote {} bytes to {}, not a whole HTML page: {}",
        written.len(),
        html.display(),
        head(&written)
    );
    let Some(chromium) = chromium() else {
        return;
    };
    screenshot(&chromium, &html);
    dom_and_console(&chromium, &html);
    search_box_and_script_errors(&chromium, &html, tmp.path());
}

/// `KEPGUARD_CHROMIUM`, else Debian's `/usr/bin/chromium`, else `chromium` on `PATH`.
fn chromium() -> Option<PathBuf> {
    let found = match std::env::var_os("KEPGUARD_CHROMIUM") {
        Some(path) => Some(PathBuf::from(path)),
        None => std::iter::once(PathBuf::from("/usr/bin/chromium"))
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|d| d.join("chromium")))
            .find(|p| p.is_file()),
    };
    if found.is_none() {
        assert!(
            std::env::var_os("KEPGUARD_REQUIRE_BROWSER").is_none_or(|v| v.is_empty()),
            "KEPGUARD_REQUIRE_BROWSER is set but Chromium is not installed (no /usr/bin/chromium, none on PATH, \
             KEPGUARD_CHROMIUM unset): install it (apt-get install chromium) or point KEPGUARD_CHROMIUM at it"
        );
        eprintln!("skipping the browser checks: Chromium not found (set KEPGUARD_CHROMIUM, or install chromium)");
    }
    found
}

/// Runs Chromium on `page` with `args` in a fresh profile, so no state leaks between runs.
fn run_chromium(chromium: &Path, args: &[&str], page: &Path) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let what = format!("chromium {} {}", args.join(" "), page.display());
    let start = Instant::now();
    let out = output_unless_hung(
        Command::new(chromium)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(format!("file://{}", page.display())),
        &what,
    );
    eprintln!("{what}: {:.1?}", start.elapsed());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A page that cannot be loaded still exits 0 (an empty DOM, no screenshot): only stderr says so.
    assert!(
        out.status.success() && !stderr.contains("Page load failed"),
        "{what} failed ({:?}); stderr:\n{stderr}",
        out.status.code()
    );
    out
}

fn screenshot(chromium: &Path, page: &Path) {
    // Under target/ so that CI keeps it as an artifact, for a human look at the page.
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts/report.png");
    std::fs::create_dir_all(png.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&png);
    run_chromium(
        chromium,
        &[&format!("--screenshot={}", png.display()), "--window-size=1280,2000"],
        page,
    );
    let size = std::fs::metadata(&png)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()))
        .len();
    // A blank 1280x2000 page is about 12 kB of PNG and one line of text 13 kB; charts and a list
    // of KEPs are far more.
    assert!(size > 30_000, "{}: {size} bytes, a nearly blank page", png.display());
}

/// The page's structure after its scripts ran, and what it wrote to the browser's console.
fn dom_and_console(chromium: &Path, page: &Path) {
    let out = run_chromium(
        chromium,
        &["--enable-logging=stderr", "--v=0", "--dump-dom", SETTLE],
        page,
    );
    let dom = String::from_utf8(out.stdout).unwrap();

    let charts: Vec<&str> = elements(&dom, "figure", "</figure>")
        .into_iter()
        .filter(|(_, tag, _)| tag.contains(r#"class="chart""#) && tag.contains(r#"id="chart-"#))
        .map(|(_, _, body)| body)
        .collect();
    assert!(charts.len() >= 2, "{} chart figures, want at least 2", charts.len());
    for chart in &charts {
        assert!(
            chart.contains("<svg"),
            "a chart without an inline <svg>: {}",
            head(chart)
        );
    }

    // A KEP's ledger is inside its <details>, whatever else that holds: look up to the next KEP.
    let keps: Vec<usize> = elements(&dom, "details", "")
        .into_iter()
        .filter(|(_, tag, _)| tag.contains(r#"class="kep""#) && tag.contains("data-search="))
        .map(|(at, _, _)| at)
        .collect();
    assert!(!keps.is_empty(), "no <details class=\"kep\" data-search=…> in the DOM");
    for (i, &start) in keps.iter().enumerate() {
        let kep = &dom[start..keps.get(i + 1).copied().unwrap_or(dom.len())];
        assert!(
            kep.contains(r#"<table class="ledger""#),
            "a KEP without a ledger table: {}",
            head(kep)
        );
    }

    let sig_table = elements(&dom, "table", "</table>")
        .into_iter()
        .find(|(_, tag, _)| tag.contains(r#"id="sig-table""#));
    assert!(
        sig_table.is_some_and(|(_, _, body)| body.contains("<th")),
        "no <table id=\"sig-table\"> with <th> headers"
    );
    assert!(
        elements(&dom, "input", "")
            .iter()
            .any(|(_, tag, _)| tag.contains(r#"id="kep-search""#) && tag.contains(r#"type="search""#)),
        "no <input id=\"kep-search\" type=\"search\">"
    );

    // Chromium logs a page's console as `[…:INFO:CONSOLE:<line>] "<message>", source: <url> (<line>)`,
    // every level (log, warn, error) alike, so console.error cannot be told from console.log here; a
    // static page has no business logging, so any message fails. Uncaught exceptions and rejections
    // show as `"Uncaught …"` messages.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(
        console.is_empty(),
        "the page wrote to the browser console:\n{}",
        console.join("\n")
    );
}

/// Records errors before the page's own scripts run: uncaught exceptions, rejected promises,
/// resources that fail to load (a self-contained page loads none), and `console.error` calls.
const ERROR_PROBE: &str = r#"<script>
window.kgErrors = [];
window.addEventListener('error', e =>
  kgErrors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e.type)), true);
window.addEventListener('unhandledrejection', e => kgErrors.push('unhandled rejection: ' + e.reason));
const kgConsoleError = console.error;
console.error = function (...args) {
  kgErrors.push('console.error: ' + args.join(' '));
  return kgConsoleError.apply(this, args);
};
</script>"#;

/// Types into the search box as a user would, then sorts the SIG table by each header, and
/// leaves the results in `<pre id="kg-test-result">` for `--dump-dom` to carry out. It waits a
/// little after each step so that a debounced filter has run (virtual time: no real wait).
const SEARCH_PROBE: &str = r#"<script>
window.addEventListener('load', async () => {
  const result = {};
  try {
    const settle = () => new Promise(resolve => setTimeout(resolve, 300));
    const visible = () => [...document.querySelectorAll('details.kep:not([hidden])')];
    const box = document.getElementById('kep-search');
    const search = async text => {
      box.value = text;
      box.dispatchEvent(new Event('input', { bubbles: true }));
      await settle();
    };
    await settle();
    result.before = visible().length;
    await search('2400');
    const found = visible();
    result.after_2400 = found.length;
    result.after_2400_matching = found.filter(d => (d.dataset.search || '').includes('2400')).length;
    result.after_2400_sample = found.slice(0, 5).map(d => d.dataset.search);
    await search('zz-no-such-kep');
    result.after_no_match = visible().length;

    const rows = () => [...document.querySelectorAll('#sig-table tbody tr')].map(r => r.textContent).join('\n');
    const unsorted = rows();
    result.sig_rows = document.querySelectorAll('#sig-table tbody tr').length;
    result.sig_order_changed = false;
    for (const th of document.querySelectorAll('#sig-table th')) {
      th.click();
      await settle();
      result.sig_order_changed ||= rows() !== unsorted;
    }
    result.sig_rows_after_sorting = document.querySelectorAll('#sig-table tbody tr').length;
  } catch (e) {
    kgErrors.push('probe: ' + e);
  }
  result.errors = kgErrors;
  const pre = document.createElement('pre');
  pre.id = 'kg-test-result';
  pre.textContent = JSON.stringify(result);
  document.body.appendChild(pre);
});
</script>"#;

fn search_box_and_script_errors(chromium: &Path, page: &Path, tmp: &Path) {
    let html = std::fs::read_to_string(page).unwrap();
    let head_at = html.find("<head>").expect("the page has a <head>") + "<head>".len();
    let body_end = html.rfind("</body>").expect("the page has a </body>");
    let probed_page = tmp.join("keps-probed.html");
    std::fs::write(
        &probed_page,
        [
            &html[..head_at],
            ERROR_PROBE,
            &html[head_at..body_end],
            SEARCH_PROBE,
            &html[body_end..],
        ]
        .concat(),
    )
    .unwrap();

    let dom = String::from_utf8(run_chromium(chromium, &["--dump-dom", SETTLE], &probed_page).stdout).unwrap();
    let json = dom
        .split_once(r#"<pre id="kg-test-result">"#)
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .unwrap_or_else(|| {
            panic!(
                "the probe left no result (did the page load?); DOM ends:\n{}",
                tail(&dom)
            )
        })
        .0
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let r: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("probe result is not JSON ({e}): {json}"));
    eprintln!("browser probe: {r}");
    let n = |key: &str| {
        r[key]
            .as_u64()
            .unwrap_or_else(|| panic!("probe result has no {key}: {r}"))
    };

    assert_eq!(r["errors"], serde_json::json!([]), "script errors in the page: {r}");
    let before = n("before");
    assert!(
        before > 100,
        "{before} KEPs visible before searching; the corpus has hundreds"
    );
    let after = n("after_2400");
    assert!(
        (1..before).contains(&after),
        "searching 2400 shows {after} of {before} KEPs; want some, not all: {r}"
    );
    assert!(
        n("after_2400_matching") >= 1,
        "no KEP shown for 2400 has 2400 in its data-search: {r}"
    );
    assert_eq!(
        n("after_no_match"),
        0,
        "KEPs still shown for a search that matches none: {r}"
    );
    assert!(n("sig_rows") > 1, "the SIG table has under two rows: {r}");
    assert_eq!(
        n("sig_rows_after_sorting"),
        n("sig_rows"),
        "sorting the SIG table lost rows: {r}"
    );
    assert_eq!(
        r["sig_order_changed"], true,
        "clicking the SIG table's headers never reordered it: {r}"
    );
}

/// Each opening `<name …>` tag in `dom`: its offset, the tag, and what follows it up to `end`
/// (nothing for an empty `end`).
fn elements<'a>(dom: &'a str, name: &str, end: &str) -> Vec<(usize, &'a str, &'a str)> {
    let open = format!("<{name}");
    dom.match_indices(&open)
        .filter_map(|(at, _)| {
            let rest = &dom[at..];
            let tag = &rest[..=rest.find('>')?];
            if !tag[open.len()..].starts_with([' ', '>']) {
                return None; // a longer tag name
            }
            let body = if end.is_empty() { "" } else { &rest[..rest.find(end)?] };
            Some((at, tag, body))
        })
        .collect()
}

/// The first 300 bytes of `s` or so, for messages.
fn head(s: &str) -> &str {
    let end = (300..=s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    &s[..end]
}

/// The last 600 bytes of `s` or so, for messages.
fn tail(s: &str) -> &str {
    let start = (s.len().saturating_sub(600)..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap();
    &s[start..]
}
