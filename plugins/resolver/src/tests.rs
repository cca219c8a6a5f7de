//! The resolver's rules, each shown on an in-memory index for a Windows 3.10 and a Linux 3.12
//! environment built the way a probed interpreter's is (no Python, no network).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use wagon_core::environment::Environment;
use wagon_core::interpreter::{Interpreter, Libc, ProbeReport};
use wagon_core::python::{Requirement, package_name, requirement, specifiers, version};

use super::*;

fn environment(
    sys_platform: &str,
    machine: &str,
    libc: Option<&str>,
    python: &str,
    description: &str,
) -> Environment {
    let minor: String = python.split('.').take(2).collect::<Vec<_>>().join(".");
    let windows = sys_platform == "win32";
    let report = ProbeReport {
        executable: "/x/python".into(),
        base_executable: "/x/python".into(),
        prefix: "/x".into(),
        base_prefix: "/x".into(),
        implementation_name: "cpython".into(),
        implementation_version: python.into(),
        python_full_version: python.into(),
        python_version: minor,
        os_name: if windows { "nt" } else { "posix" }.into(),
        platform_machine: machine.into(),
        platform_python_implementation: "CPython".into(),
        platform_release: "10".into(),
        platform_system: if windows { "Windows" } else { "Linux" }.into(),
        platform_version: "1".into(),
        sys_platform: sys_platform.into(),
        sysconfig_platform: if windows { "win-amd64" } else { "linux-x86_64" }.into(),
        macos_version: None,
        libc: libc.map(|version| Libc {
            kind: "glibc".into(),
            version: version.into(),
        }),
        pointer_bits: 64,
        gil_disabled: false,
        paths: BTreeMap::new(),
        has_pip: false,
        externally_managed: None,
    };
    let mut env = Interpreter::from_report(Path::new("python"), report)
        .unwrap()
        .env;
    env.description = description.to_string();
    env
}

fn windows_310() -> Environment {
    environment("win32", "AMD64", None, "3.10.11", "cp310-win_amd64")
}

fn linux_312() -> Environment {
    environment(
        "linux",
        "x86_64",
        Some("2.28"),
        "3.12.4",
        "cp312-manylinux_2_28_x86_64",
    )
}

/// A file by name: `.whl` is a wheel, anything else an sdist.
fn file(name: &str) -> DistFile {
    if name.ends_with(".whl") {
        DistFile::wheel(name, format!("https://files.test/{name}")).unwrap()
    } else {
        DistFile::sdist(name, format!("https://files.test/{name}"))
    }
}

fn pure(name: &str, version: &str) -> DistFile {
    file(&format!("{name}-{version}-py3-none-any.whl"))
}

fn metadata(deps: &[&str]) -> CandidateMetadata {
    CandidateMetadata {
        requires_dist: deps.iter().map(|d| requirement(d).unwrap()).collect(),
        requires_python: None,
    }
}

fn candidate(name: &str, version_text: &str, files: Vec<DistFile>) -> Candidate {
    Candidate {
        name: package_name(name).unwrap(),
        version: version(version_text).unwrap(),
        files,
    }
}

/// Adds a version with one pure wheel.
fn add(source: &mut MemorySource, name: &str, version: &str, deps: &[&str]) {
    source.add(
        candidate(name, version, vec![pure(name, version)]),
        metadata(deps),
    );
}

fn reqs(texts: &[&str]) -> Vec<Requirement> {
    texts.iter().map(|t| requirement(t).unwrap()).collect()
}

fn run(
    source: &MemorySource,
    roots: &[&str],
    env: &Environment,
) -> Result<Resolution, ResolveError> {
    resolve(source, &reqs(roots), env, &ResolveOptions::default())
}

/// `name==version` for each package, in the resolution's order.
fn pins(resolution: &Resolution) -> Vec<String> {
    resolution
        .packages
        .iter()
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect()
}

fn pytest_index() -> MemorySource {
    let mut source = MemorySource::new();
    add(
        &mut source,
        "pytest",
        "8.3.3",
        &[
            "iniconfig",
            "packaging",
            "pluggy<2,>=1.5",
            "exceptiongroup>=1.0.0rc8; python_version < \"3.11\"",
            "tomli>=1; python_version < \"3.11\"",
            "colorama; sys_platform == \"win32\"",
            "pygments>=2.7.2; extra == \"dev\"",
        ],
    );
    add(&mut source, "iniconfig", "2.0.0", &[]);
    add(&mut source, "packaging", "24.1", &[]);
    add(&mut source, "pluggy", "1.5.0", &[]);
    add(&mut source, "pluggy", "2.0.0", &[]);
    add(&mut source, "exceptiongroup", "1.2.2", &[]);
    add(&mut source, "tomli", "2.0.1", &[]);
    add(&mut source, "colorama", "0.4.6", &[]);
    add(&mut source, "pygments", "2.18.0", &[]);
    source
}

#[test]
fn markers_are_evaluated_for_each_environment() {
    let source = pytest_index();
    let resolver = Resolver::new(&source);
    let roots = reqs(&["pytest==8.3.3"]);
    let options = ResolveOptions::default();

    let windows = resolver.resolve(&roots, &windows_310(), &options).unwrap();
    assert_eq!(windows.environment, "cp310-win_amd64");
    assert_eq!(
        pins(&windows),
        [
            "colorama==0.4.6",
            "exceptiongroup==1.2.2",
            "iniconfig==2.0.0",
            "packaging==24.1",
            "pluggy==1.5.0",
            "pytest==8.3.3",
            "tomli==2.0.1",
        ]
    );
    let linux = resolver.resolve(&roots, &linux_312(), &options).unwrap();
    assert_eq!(
        pins(&linux),
        [
            "iniconfig==2.0.0",
            "packaging==24.1",
            "pluggy==1.5.0",
            "pytest==8.3.3",
        ]
    );

    // Who asked, with the marker as written: what a lock's markers are made from.
    let colorama = windows.get(&package_name("colorama").unwrap()).unwrap();
    assert_eq!(colorama.required_by.len(), 1);
    assert_eq!(
        colorama.required_by[0].by,
        Requester::Package {
            name: package_name("pytest").unwrap(),
            version: version("8.3.3").unwrap(),
        }
    );
    assert_eq!(
        colorama.required_by[0].requirement.to_string(),
        "colorama ; sys_platform == 'win32'"
    );
    let pytest = windows.get(&package_name("pytest").unwrap()).unwrap();
    assert_eq!(pytest.required_by[0].by, Requester::Root);
    assert_eq!(pytest.file.filename, "pytest-8.3.3-py3-none-any.whl");
    assert!(!pytest.needs_build());

    // One Resolver asks the source once per version, whichever environments need it; it can
    // be shared by threads resolving several environments at once.
    fn shareable<T: Sync>(_: &T) {}
    shareable(&resolver);
    let reads = source.metadata_reads();
    assert_eq!(reads, 7, "each used version's metadata once");
    resolver.resolve(&roots, &windows_310(), &options).unwrap();
    assert_eq!(source.metadata_reads(), reads);
}

#[test]
fn extras_bring_their_requirements_for_the_environment() {
    let mut source = MemorySource::new();
    add(&mut source, "app", "1.0", &["lib[fast]>=1"]);
    add(&mut source, "plain", "1.0", &["lib"]);
    add(
        &mut source,
        "lib",
        "1.0",
        &[
            "core",
            "speedup; extra == \"fast\"",
            "winspeed; extra == \"fast\" and sys_platform == \"win32\"",
        ],
    );
    add(&mut source, "lib", "0.5", &["core"]);
    add(&mut source, "core", "1.0", &[]);
    add(&mut source, "speedup", "1.0", &[]);
    add(&mut source, "winspeed", "1.0", &[]);

    let linux = run(&source, &["app"], &linux_312()).unwrap();
    assert_eq!(
        pins(&linux),
        ["app==1.0", "core==1.0", "lib==1.0", "speedup==1.0"]
    );
    let lib = linux.get(&package_name("lib").unwrap()).unwrap();
    assert_eq!(lib.extras.len(), 1);
    assert_eq!(lib.extras[0].as_ref(), "fast");
    let windows = run(&source, &["app"], &windows_310()).unwrap();
    assert!(pins(&windows).contains(&"winspeed==1.0".to_string()));

    let plain = run(&source, &["plain"], &windows_310()).unwrap();
    assert_eq!(pins(&plain), ["core==1.0", "lib==1.0", "plain==1.0"]);
    assert!(plain.packages.iter().all(|p| p.extras.is_empty()));

    // A root requirement with an extra, and the extra's dependency pinned with the project.
    let root = run(&source, &["lib[fast]<1"], &linux_312()).unwrap();
    assert_eq!(pins(&root), ["core==1.0", "lib==0.5"]);
}

#[test]
fn yanked_versions_serve_only_an_exact_pin() {
    let mut source = MemorySource::new();
    add(&mut source, "dep", "1.0", &[]);
    source.add(
        candidate(
            "dep",
            "2.0",
            vec![pure("dep", "2.0").yanked("broken build")],
        ),
        metadata(&[]),
    );
    let env = linux_312();
    assert_eq!(pins(&run(&source, &["dep"], &env).unwrap()), ["dep==1.0"]);
    assert_eq!(
        pins(&run(&source, &["dep==2.0"], &env).unwrap()),
        ["dep==2.0"]
    );

    // Nothing but yanked versions, unpinned: an error that says so and how to get past it.
    let err = run(&source, &["dep>=2"], &env).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ResolveError::Unusable { .. }), "{text}");
    assert!(text.contains("cp312-manylinux_2_28_x86_64"), "{text}");
    assert!(
        text.contains("dep 2.0: it is yanked: \"broken build\""),
        "{text}"
    );
    assert!(text.contains("pin it with `==`"), "{text}");
}

#[test]
fn prereleases_only_when_named_asked_for_or_needed() {
    let mut source = MemorySource::new();
    add(&mut source, "dep", "1.0", &[]);
    add(&mut source, "dep", "2.0b1", &[]);
    add(&mut source, "only", "3.0rc1", &[]);
    let env = linux_312();
    assert_eq!(pins(&run(&source, &["dep"], &env).unwrap()), ["dep==1.0"]);
    // The specifier names a pre-release.
    assert_eq!(
        pins(&run(&source, &["dep>=2.0b1"], &env).unwrap()),
        ["dep==2.0b1"]
    );
    // No final release satisfies.
    assert_eq!(
        pins(&run(&source, &["dep>1.0"], &env).unwrap()),
        ["dep==2.0b1"]
    );
    assert_eq!(
        pins(&run(&source, &["only"], &env).unwrap()),
        ["only==3.0rc1"]
    );
    // Asked for.
    let pre = ResolveOptions {
        allow_prereleases: true,
    };
    let resolution = resolve(&source, &reqs(&["dep"]), &env, &pre).unwrap();
    assert_eq!(pins(&resolution), ["dep==2.0b1"]);
}

#[test]
fn requires_python_picks_an_older_version_or_names_the_environment() {
    let mut source = MemorySource::new();
    add(&mut source, "dep", "1.0", &[]);
    // The index says it (per file)...
    source.add(
        candidate(
            "dep",
            "2.0",
            vec![pure("dep", "2.0").with_requires_python(specifiers(">=3.11").unwrap())],
        ),
        metadata(&[]),
    );
    // ... or only the metadata does.
    source.add(
        candidate("dep", "3.0", vec![pure("dep", "3.0")]),
        CandidateMetadata {
            requires_dist: Vec::new(),
            requires_python: Some(specifiers(">=3.11").unwrap()),
        },
    );
    assert_eq!(
        pins(&run(&source, &["dep"], &windows_310()).unwrap()),
        ["dep==1.0"]
    );
    assert_eq!(
        pins(&run(&source, &["dep"], &linux_312()).unwrap()),
        ["dep==3.0"]
    );

    let err = run(&source, &["dep>=2"], &windows_310()).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, ResolveError::RequiresPython { .. }), "{text}");
    assert_eq!(
        text,
        "for cp310-win_amd64: dep 3.0, 2.0 requires Python >=3.11, and cp310-win_amd64 has \
         Python 3.10.11 (you asked for dep>=2)"
    );
}

#[test]
fn platform_wheels_serve_their_platform_and_sdists_the_rest() {
    let mut source = MemorySource::new();
    source.add(
        candidate(
            "native",
            "1.0",
            vec![
                file("native-1.0-cp310-cp310-win_amd64.whl"),
                file("native-1.0.tar.gz"),
            ],
        ),
        metadata(&[]),
    );
    source.add(
        candidate(
            "winonly",
            "1.0",
            vec![file("winonly-1.0-cp310-cp310-win_amd64.whl")],
        ),
        metadata(&[]),
    );
    source.add(
        candidate(
            "fast",
            "1.0",
            vec![
                file("fast-1.0-py3-none-any.whl"),
                file("fast-1.0-cp38-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
                file("fast-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
                file("fast-1.0-cp312-cp312-manylinux_2_34_x86_64.whl"),
                file("fast-1.0.tar.gz"),
            ],
        ),
        metadata(&[]),
    );
    add(&mut source, "app", "1.0", &["winonly"]);

    let linux = run(&source, &["native", "fast"], &linux_312()).unwrap();
    let native = &linux.packages[1];
    assert_eq!(native.file.filename, "native-1.0.tar.gz");
    assert!(native.needs_build());
    // The most specific wheel that fits (glibc 2.34 does not fit 2.28).
    assert_eq!(
        linux.packages[0].file.filename,
        "fast-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    );
    let windows = run(&source, &["native", "fast"], &windows_310()).unwrap();
    assert_eq!(
        windows.packages[1].file.filename,
        "native-1.0-cp310-cp310-win_amd64.whl"
    );
    assert_eq!(
        windows.packages[0].file.filename,
        "fast-1.0-py3-none-any.whl"
    );

    assert_eq!(
        pins(&run(&source, &["app"], &windows_310()).unwrap()),
        ["app==1.0", "winonly==1.0"]
    );
    let err = run(&source, &["app"], &linux_312()).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, ResolveError::NoFittingFile { .. }), "{text}");
    assert_eq!(
        text,
        "for cp312-manylinux_2_28_x86_64: no wheel of winonly 1.0 fits \
         cp312-manylinux_2_28_x86_64 and it has no sdist (app 1.0 requires winonly)"
    );
}

#[test]
fn an_older_parent_is_chosen_when_the_newer_needs_what_cannot_serve() {
    let mut source = MemorySource::new();
    add(&mut source, "app", "2.0", &["winonly>=2"]);
    add(&mut source, "app", "1.0", &["winonly<2"]);
    source.add(
        candidate(
            "winonly",
            "2.0",
            vec![file("winonly-2.0-cp312-cp312-win_amd64.whl")],
        ),
        metadata(&[]),
    );
    add(&mut source, "winonly", "1.0", &[]);
    assert_eq!(
        pins(&run(&source, &["app"], &linux_312()).unwrap()),
        ["app==1.0", "winonly==1.0"]
    );
}

#[test]
fn conflicting_requirements_are_explained_naming_both_sides() {
    let mut source = MemorySource::new();
    add(&mut source, "app", "1.0", &["dep>=2"]);
    add(&mut source, "other", "1.0", &["dep<2"]);
    add(&mut source, "dep", "1.0", &[]);
    add(&mut source, "dep", "2.0", &[]);
    let err = run(&source, &["app", "other"], &windows_310()).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, ResolveError::Conflict { .. }), "{text}");
    assert_eq!(
        text,
        "for cp310-win_amd64: the requirements cannot all be met.\n\
         Because app 1.0 requires dep>=2 and other 1.0 requires dep<2, app 1.0 and other 1.0 \
         cannot be used together.\n\
         And because you asked for app and you asked for other, the requirements cannot be met."
    );

    // A root pin against a dependency's range.
    let err = run(&source, &["app", "dep==1.0"], &windows_310()).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(text.contains("app 1.0 requires dep>=2"), "{text}");
    assert!(text.contains("you asked for dep==1.0"), "{text}");
}

#[test]
fn a_missing_project_is_named_with_who_wants_it() {
    let mut source = MemorySource::new();
    add(&mut source, "app", "1.0", &["nosuch>=1"]);
    let err = run(&source, &["app"], &linux_312()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ResolveError::NotFound { .. }), "{text}");
    assert_eq!(
        text,
        "for cp312-manylinux_2_28_x86_64: nosuch is not on the index (app 1.0 requires nosuch>=1)"
    );
}

#[test]
fn several_projects_with_nothing_usable_are_explained_together() {
    let mut source = MemorySource::new();
    add(&mut source, "app", "2.0", &["nosuch"]);
    add(&mut source, "app", "1.0", &["winonly"]);
    source.add(
        candidate(
            "winonly",
            "1.0",
            vec![file("winonly-1.0-cp312-cp312-win_amd64.whl")],
        ),
        metadata(&[]),
    );
    let err = run(&source, &["app"], &linux_312()).unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, ResolveError::Conflict { .. }), "{text}");
    for part in [
        "app 2.0 requires nosuch",
        "nosuch is not on the index",
        "app 1.0 requires winonly",
        "winonly 1.0: no wheel fits and there is no sdist",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

#[test]
fn url_requirements_are_refused_by_name() {
    let source = MemorySource::new();
    let err = run(
        &source,
        &["dep @ https://example.test/dep-1.0.tar.gz"],
        &linux_312(),
    )
    .unwrap_err();
    assert!(matches!(err, ResolveError::Url { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("dep @ https://example.test/dep-1.0.tar.gz")
    );
}

#[test]
fn output_does_not_depend_on_the_source_order() {
    let build = |reverse: bool| {
        let mut entries = vec![
            ("zeta", "1.0", vec!["alpha", "mid>=1"]),
            ("alpha", "1.0", vec![]),
            ("alpha", "1.1", vec![]),
            ("mid", "1.0", vec!["alpha<1.1"]),
            ("mid", "2.0", vec!["alpha"]),
        ];
        if reverse {
            entries.reverse();
        }
        let mut source = MemorySource::new();
        for (name, version, deps) in entries {
            add(&mut source, name, version, &deps);
        }
        source
    };
    let first = run(&build(false), &["zeta"], &linux_312()).unwrap();
    let second = run(&build(true), &["zeta"], &linux_312()).unwrap();
    assert_eq!(pins(&first), ["alpha==1.1", "mid==2.0", "zeta==1.0"]);
    assert_eq!(pins(&first), pins(&second));
    // Several files for one version listed as separate entries are one version.
    let mut split = MemorySource::new();
    split.add(
        candidate("one", "1.0", vec![file("one-1.0.tar.gz")]),
        metadata(&[]),
    );
    let mut source = split;
    let resolution = run(&source, &["one"], &linux_312()).unwrap();
    assert!(resolution.packages[0].needs_build());
    source.add(
        candidate("one", "1.0", vec![pure("one", "1.0")]),
        metadata(&[]),
    );
    let resolution = run(&source, &["one"], &linux_312()).unwrap();
    assert_eq!(
        resolution.packages[0].file.filename,
        "one-1.0-py3-none-any.whl"
    );
}

/// Not a timed assertion: prints how long a 300-project, 20-version graph takes.
#[test]
fn a_large_synthetic_graph_resolves_quickly() {
    const PROJECTS: usize = 300;
    const VERSIONS: usize = 20;
    let mut source = MemorySource::new();
    for i in 0..PROJECTS {
        for v in 0..VERSIONS {
            let name = format!("p{i}");
            let ver = format!("{v}.0");
            let mut deps = Vec::new();
            // Newer versions want newer dependencies (lower bounds), and the newest versions of
            // every third project cap a far dependency below what its neighbours want: a
            // conflict found only deep in the graph, so PubGrub has to backtrack.
            if i + 1 < PROJECTS {
                deps.push(format!("p{}>={}", i + 1, v / 2));
            }
            if i + 3 < PROJECTS {
                deps.push(format!("p{}>={}", i + 3, v / 4));
            }
            if i + 17 < PROJECTS && v >= 15 && i % 3 == 0 {
                deps.push(format!("p{}<5", i + 17));
            }
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            add(&mut source, &name, &ver, &deps);
        }
    }
    let started = Instant::now();
    let resolution = run(&source, &["p0"], &linux_312()).unwrap();
    let elapsed = started.elapsed();
    println!(
        "resolved {} of {PROJECTS} projects ({VERSIONS} versions each) in {elapsed:?}, \
         {} metadata reads",
        resolution.packages.len(),
        source.metadata_reads()
    );
    assert_eq!(resolution.packages.len(), PROJECTS);
}

/// A source answering like a remote index: each question takes a while, and it records how
/// many were under way at once.
struct SlowSource {
    inner: MemorySource,
    delay: std::time::Duration,
    in_flight: std::sync::atomic::AtomicUsize,
    most_at_once: std::sync::atomic::AtomicUsize,
}

impl SlowSource {
    fn new(inner: MemorySource, millis: u64) -> Self {
        Self {
            inner,
            delay: std::time::Duration::from_millis(millis),
            in_flight: 0.into(),
            most_at_once: 0.into(),
        }
    }

    fn wait<T>(&self, answer: impl FnOnce() -> T) -> T {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_at_once.fetch_max(now, SeqCst);
        std::thread::sleep(self.delay);
        let answer = answer();
        self.in_flight.fetch_sub(1, SeqCst);
        answer
    }
}

impl PackageSource for SlowSource {
    fn candidates(&self, name: &PackageName) -> Result<Vec<Candidate>, SourceError> {
        self.wait(|| self.inner.candidates(name))
    }

    fn metadata(&self, candidate: &Candidate) -> Result<CandidateMetadata, SourceError> {
        self.wait(|| self.inner.metadata(candidate))
    }
}

/// A graph with a conflict found deep down (so PubGrub backtracks), 40 projects of 6 versions.
fn backtracking_graph() -> MemorySource {
    const PROJECTS: usize = 40;
    let mut source = MemorySource::new();
    for i in 0..PROJECTS {
        for v in 0..6 {
            let mut deps = Vec::new();
            if i + 1 < PROJECTS {
                deps.push(format!("p{}>={}", i + 1, v / 2));
            }
            if i + 3 < PROJECTS {
                deps.push(format!("p{}>={}", i + 3, v / 3));
            }
            if i + 7 < PROJECTS && v >= 4 && i % 3 == 0 {
                deps.push(format!("p{}<2", i + 7));
            }
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            add(&mut source, &format!("p{i}"), &format!("{v}.0"), &deps);
        }
    }
    source
}

#[test]
fn asking_ahead_overlaps_questions_and_changes_no_answer() {
    let roots = reqs(&["p0"]);
    let options = ResolveOptions::default();
    let alone = Resolver::new(&backtracking_graph())
        .with_prefetch_workers(0)
        .resolve(&roots, &linux_312(), &options)
        .unwrap();
    let slow = SlowSource::new(backtracking_graph(), 5);
    let started = Instant::now();
    let ahead = Resolver::new(&slow)
        .resolve(&roots, &linux_312(), &options)
        .unwrap();
    println!("with 8 workers asking ahead: {:?}", started.elapsed());
    assert_eq!(pins(&ahead), pins(&alone));
    assert_eq!(ahead.packages.len(), 40);
    let most = slow.most_at_once.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        most > 1,
        "questions never overlapped ({most} at most at once)"
    );
    // Again, with other timings: the same answer.
    for millis in [0, 1, 3] {
        let slow = SlowSource::new(backtracking_graph(), millis);
        let again = Resolver::new(&slow)
            .resolve(&roots, &linux_312(), &options)
            .unwrap();
        assert_eq!(pins(&again), pins(&alone), "{millis} ms a question");
    }
}

#[test]
fn a_failed_question_asked_ahead_is_asked_again_and_reported() {
    /// Fails every question about `broken`, counting them.
    struct Failing {
        inner: MemorySource,
        asked: std::sync::atomic::AtomicUsize,
    }
    impl PackageSource for Failing {
        fn candidates(&self, name: &PackageName) -> Result<Vec<Candidate>, SourceError> {
            if name.as_ref() == "broken" {
                self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Err(SourceError::new("the index is down"));
            }
            self.inner.candidates(name)
        }
        fn metadata(&self, candidate: &Candidate) -> Result<CandidateMetadata, SourceError> {
            self.inner.metadata(candidate)
        }
    }
    let mut inner = MemorySource::new();
    add(&mut inner, "app", "1.0", &["broken"]);
    let source = Failing {
        inner,
        asked: 0.into(),
    };
    let err = Resolver::new(&source)
        .resolve(&reqs(&["app"]), &linux_312(), &ResolveOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
    assert!(source.asked.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}
