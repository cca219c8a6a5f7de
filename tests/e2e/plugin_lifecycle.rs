//! When and how plugin processes run, are found and are named: started only for a command that
//! needs them, bounded from start to exit, refused when they claim what a built-in or another
//! plugin has, found by bare name and configured once per machine, with exits and signals told in
//! words; and index credentials kept out of messages, logs and the pip child's arguments.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use wagon_test_support::index::{IndexOptions, LoopbackIndex};
use wagon_test_support::python::python3;

use crate::common::{Format, demo_archive, demo_wheels, wagon};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An executable `/bin/sh` script `name` in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// A source plugin for `corp://` that answers its hello and every fetch with an error saying
/// `message`, then runs `after` (a lingering `sleep`, say).
fn corp_source(dir: &Path, name: &str, message: &str, after: &str) -> PathBuf {
    script(
        dir,
        name,
        &format!(
            "read hello\n\
             echo '{{\"type\":\"hello\",\"protocol\":1,\"name\":\"corp\",\"capabilities\":{{\"sources\":[\"corp\"]}}}}'\n\
             read request\n\
             echo '{{\"type\":\"response\",\"id\":1,\"error\":{{\"code\":\"not_found\",\"message\":\"{message}\"}}}}'\n\
             {after}\n"
        ),
    )
}

/// `wagon ARGS` in `dir`, whose wagon.toml is `toml`.
fn in_project(dir: &Path, toml: &str, args: &[&str]) -> Output {
    std::fs::write(dir.join("wagon.toml"), toml).unwrap();
    wagon().args(args).current_dir(dir).output().unwrap()
}

#[test]
fn an_unused_broken_or_hanging_plugin_touches_no_other_command() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(&dir.path().join("archive"), Format::TarGz);
    let served = dir.path().join("served");
    demo_wheels(&served);
    let index = LoopbackIndex::serve(&served);
    let broken = script(&dir.path().join("tools"), "wagon-broken", "exit 3\n");
    let hanging = script(&dir.path().join("tools"), "wagon-hanging", "sleep 30\n");
    for plugin in [&broken, &hanging] {
        let toml = format!(
            "[create]\noutput = \"dist\"\n\n[plugins.corp]\npath = \"{}\"\ntimeout = 20\n\
             provides = {{ sources = [\"corp\"] }}\n",
            plugin.display()
        );
        let started = Instant::now();
        let shown = in_project(dir.path(), &toml, &["show", archive.to_str().unwrap()]);
        assert!(shown.status.success(), "{}", stderr(&shown));
        let created = in_project(
            dir.path(),
            &toml,
            &[
                "create",
                "demo-app==1.0",
                "-f",
                "--index-url",
                &index.simple_url(),
            ],
        );
        assert!(created.status.success(), "{}", stderr(&created));
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{} was waited for: {:?}",
            plugin.display(),
            started.elapsed()
        );
    }

    // Undeclared, it must be asked what it offers before any command runs: one that cannot
    // answer is left out with a warning saying how to avoid the question, not a failure.
    let toml = format!("[plugins.corp]\npath = \"{}\"\n", broken.display());
    let shown = in_project(dir.path(), &toml, &["show", archive.to_str().unwrap()]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let warned = stderr(&shown);
    assert!(
        warned.contains("plugin `corp` is left out") && warned.contains("provides"),
        "{warned}"
    );

    // The command that needs it starts it, and says how it ended, in words.
    let toml = format!(
        "[plugins.corp]\npath = \"{}\"\nprovides = {{ sources = [\"corp\"] }}\n",
        broken.display()
    );
    let out = in_project(dir.path(), &toml, &["create", "corp://thing"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("plugin `corp`") && err.contains("exited with status 3"),
        "{err}"
    );
    assert!(
        !err.contains("ExitStatus") && !err.contains("Some("),
        "{err}"
    );
}

#[test]
fn a_plugin_is_bounded_from_start_to_exit() {
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools");
    let lingering = corp_source(&tools, "wagon-lingering", "nothing here", "sleep 30");
    // Deaf to the polite signals, and never leaves on its own.
    let stubborn = corp_source(
        &tools,
        "wagon-stubborn",
        "nothing here",
        "trap '' TERM INT HUP\nwhile :; do sleep 1; done",
    );
    let timeout = 3;
    // What the same command costs with a plugin that leaves when asked, so that a loaded
    // machine's slowness is not blamed on the timeout.
    let prompt = corp_source(&tools, "wagon-prompt", "nothing here", "");
    let started = Instant::now();
    in_project(
        dir.path(),
        &format!(
            "[plugins.corp]\npath = \"{}\"\nprovides = {{ sources = [\"corp\"] }}\n",
            prompt.display()
        ),
        &["create", "corp://thing"],
    );
    let baseline = started.elapsed();
    for plugin in [&lingering, &stubborn] {
        let toml = format!(
            "[plugins.corp]\npath = \"{}\"\ntimeout = {timeout}\nprovides = {{ sources = [\"corp\"] }}\n",
            plugin.display()
        );
        let started = Instant::now();
        let out = in_project(dir.path(), &toml, &["create", "corp://thing"]);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(stderr(&out).contains("nothing here"), "{}", stderr(&out));
        assert!(
            took < baseline + Duration::from_secs(timeout + 1),
            "{} took {took:?} with timeout = {timeout} (a prompt plugin: {baseline:?})",
            plugin.display()
        );
    }
    // Undeclared, it is asked for its hello when the registry is built: that exchange is bounded
    // the same way, and its answer stands.
    let toml = format!(
        "[plugins.corp]\npath = \"{}\"\ntimeout = {timeout}\n",
        stubborn.display()
    );
    let started = Instant::now();
    let out = in_project(dir.path(), &toml, &["show", "missing.wgn"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.wgn"), "{}", stderr(&out));
    assert!(
        took < baseline + Duration::from_secs(timeout + 1),
        "took {took:?} (a prompt plugin: {baseline:?})"
    );
}

#[test]
fn a_timeout_is_positive_and_only_for_executables() {
    let dir = tempfile::tempdir().unwrap();
    for timeout in ["0", "-5"] {
        let out = in_project(
            dir.path(),
            &format!("[plugins.corp]\npath = \"tools/wagon-corp\"\ntimeout = {timeout}\n"),
            &["show", "x.wgn"],
        );
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains("plugin `corp`") && err.contains("positive"),
            "{timeout}: {err}"
        );
    }
    let out = in_project(
        dir.path(),
        "[plugins.lib]\npath = \"tools/libx.so\"\nkind = \"library\"\ntimeout = 5\n",
        &["show", "x.wgn"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("plugin `lib`") && err.contains("`timeout` applies only to executable"),
        "{err}"
    );
}

/// `wagon show x.wgn` with `toml`: the registry is built first, so its refusal is the answer.
fn refused(toml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = in_project(dir.path(), toml, &["show", "x.wgn"]);
    assert_eq!(out.status.code(), Some(1), "accepted: {toml}");
    stderr(&out)
}

fn compressor(plugin: &str, name: &str, extension: &str, magic: &str) -> String {
    format!(
        "[plugins.{plugin}]\npath = \"/nonexistent/wagon-{plugin}\"\n\
         provides = {{ compressors = [{{ name = \"{name}\", extension = \"{extension}\", magic = \"{magic}\" }}] }}\n"
    )
}

fn source(plugin: &str, scheme: &str) -> String {
    format!(
        "[plugins.{plugin}]\npath = \"/nonexistent/wagon-{plugin}\"\n\
         provides = {{ sources = [\"{scheme}\"] }}\n"
    )
}

#[test]
fn a_plugin_cannot_take_a_built_in_claim_silently() {
    let cases = [
        (compressor("lz", "lz", "lz", "1f8b"), "gzip", "magic"),
        (compressor("lz", "gz", "lz", "0102"), "gzip", "compressor name"),
        (compressor("lz", "lz", "zst", "0102"), "zstd", "extension"),
        (compressor("lz", "lz", "lz", "504b0304"), "zip", "magic"),
        (source("lz", "https"), "url", "scheme"),
        (source("lz", "GH"), "github", "scheme"),
        (
            "[plugins.lz]\npath = \"/nonexistent/wagon-lz\"\nprovides = { installers = [\"pip\"] }\n"
                .to_string(),
            "pip",
            "installer name",
        ),
    ];
    for (toml, builtin, what) in cases {
        let err = refused(&toml);
        assert!(
            err.contains("plugin `lz`") && err.contains(builtin) && err.contains(what),
            "{toml}\n{err}"
        );
    }
}

#[test]
fn two_plugins_cannot_claim_one_thing() {
    let cases = [
        format!("{}{}", source("alpha", "corp"), source("beta", "corp")),
        format!(
            "{}{}",
            compressor("alpha", "lz", "lz", "0102"),
            compressor("beta", "lz", "lz4", "0304")
        ),
        format!(
            "{}{}",
            compressor("alpha", "lz", "lz", "0102"),
            compressor("beta", "lz4", "lz", "0304")
        ),
        // One's magic starts the other's: both would recognise the same archives.
        format!(
            "{}{}",
            compressor("alpha", "lz", "lz", "0102"),
            compressor("beta", "lz4", "lz4", "010203")
        ),
        "[plugins.alpha]\npath = \"/nonexistent/a\"\nprovides = { installers = [\"corp\"] }\n\
         [plugins.beta]\npath = \"/nonexistent/b\"\nprovides = { installers = [\"corp\"] }\n"
            .to_string(),
    ];
    for toml in cases {
        let err = refused(&toml);
        assert!(
            err.contains("`alpha`") && err.contains("`beta`") && err.contains("both claim"),
            "{toml}\n{err}"
        );
    }
}

#[test]
fn override_lets_a_plugin_replace_a_built_in() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_archive(&dir.path().join("archive"), Format::TarGz);
    let broken = script(&dir.path().join("tools"), "wagon-mygz", "exit 4\n");
    let toml = format!(
        "[plugins.mygz]\npath = \"{}\"\noverride = true\n\
         provides = {{ compressors = [{{ name = \"mygz\", extension = \"mgz\", magic = \"1f8b\" }}] }}\n",
        broken.display()
    );
    // Every gzip archive is now the plugin's to read (and this one cannot).
    let out = in_project(dir.path(), &toml, &["show", archive.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("plugin `mygz`") && err.contains("exited with status 4"),
        "{err}"
    );
}

#[test]
fn plugin_messages_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools");
    // A dynamic library configured as a program is not run.
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(tools.join("libcorp.so"), "not really a library").unwrap();
    let out = in_project(
        dir.path(),
        "[plugins.corp]\npath = \"tools/libcorp.so\"\n",
        &["show", "x.wgn"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("dynamic library") && err.contains("kind = \"library\""),
        "{err}"
    );
    // As a library, the system loader's reason is given.
    let out = in_project(
        dir.path(),
        "[plugins.corp]\npath = \"tools/libcorp.so\"\nkind = \"library\"\n",
        &["show", "x.wgn"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("cannot load library") && err.contains("too short"),
        "{err}"
    );
    // An unknown kind names the valid ones.
    let out = in_project(
        dir.path(),
        "[plugins.corp]\npath = \"tools/wagon-corp\"\nkind = \"tarball\"\n",
        &["show", "x.wgn"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("`tarball`") && err.contains("\"executable\"") && err.contains("\"library\""),
        "{err}"
    );
    assert!(!err.contains("Some("), "{err}");
    // A source answer of an unknown kind names the valid kinds.
    script(
        &tools,
        "wagon-corp",
        "read hello\n\
         echo '{\"type\":\"hello\",\"protocol\":1,\"name\":\"corp\",\"capabilities\":{\"sources\":[\"corp\"]}}'\n\
         read request\n\
         echo '{\"type\":\"response\",\"id\":1,\"result\":{\"kind\":\"tarball\"}}'\n",
    );
    let out = in_project(
        dir.path(),
        "[plugins.corp]\npath = \"tools/wagon-corp\"\n",
        &["create", "corp://x"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("`tarball`") && err.contains("`requirement`, `project` or `wheels`"),
        "{err}"
    );
    assert!(!err.contains("Some("), "{err}");
    // A declared capability the plugin does not offer is named.
    let out = in_project(
        dir.path(),
        "[plugins.corp]\npath = \"tools/wagon-corp\"\nprovides = { sources = [\"other\"] }\n",
        &["create", "other://x"],
    );
    let err = stderr(&out);
    assert!(
        err.contains("declared in wagon.toml to provide source scheme `other`")
            && err.contains("[corp]"),
        "{err}"
    );
}

#[test]
fn external_subcommands_have_help_shadows_and_signals() {
    let home = tempfile::tempdir().unwrap();
    let bin = home.path().join("bin");
    script(
        &bin,
        "wagon-stats",
        "if [ \"$1\" = --help ]; then echo 'usage: wagon stats ARCHIVE'; fi\n",
    );
    script(&bin, "wagon-show", "echo never\n");
    script(&bin, "wagon-boom", "kill -9 $$\n");
    let run = |args: &[&str]| {
        wagon()
            .args(args)
            .env("WAGON_HOME", home.path())
            .output()
            .unwrap()
    };
    let out = run(&["help", "stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "usage: wagon stats ARCHIVE\n"
    );

    let out = run(&["--list"]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = listed
        .lines()
        .skip_while(|l| !l.starts_with("Installed"))
        .find(|l| l.trim_start().starts_with("show"))
        .unwrap_or_default();
    assert!(line.contains("shadowed"), "{listed}");

    let out = run(&["boom"]);
    assert_eq!(out.status.code(), Some(128 + 9));
    assert!(
        stderr(&out).contains("killed by signal 9 (SIGKILL)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_backend_is_found_by_name_and_configured_once_per_machine() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    corp_source(
        &home.join("bin"),
        "wagon-corp",
        "served from wagon home",
        "",
    );
    let on_path = dir.path().join("path");
    corp_source(&on_path, "wagon-corp", "served from PATH", "");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let path = std::env::join_paths(
        std::iter::once(on_path.clone())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let toml = "[plugins.corp]\npath = \"wagon-corp\"\n";
    let create = |home: Option<&Path>, xdg: Option<&Path>| {
        let mut command = wagon();
        command
            .args(["create", "corp://x"])
            .current_dir(&project)
            .env("PATH", &path)
            .env_remove("WAGON_HOME")
            .env_remove("XDG_CONFIG_HOME");
        if let Some(home) = home {
            command.env("WAGON_HOME", home);
        }
        if let Some(xdg) = xdg {
            command.env("XDG_CONFIG_HOME", xdg);
        }
        stderr(&command.output().unwrap())
    };

    // A bare name: $WAGON_HOME/bin first, then PATH.
    std::fs::write(project.join("wagon.toml"), toml).unwrap();
    let err = create(Some(&home), None);
    assert!(err.contains("served from wagon home"), "{err}");
    let err = create(None, Some(dir.path()));
    assert!(err.contains("served from PATH"), "{err}");

    // The user-level configuration, its paths relative to itself; the project wins per plugin.
    std::fs::remove_file(project.join("wagon.toml")).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[plugins.corp]\npath = \"bin/wagon-corp\"\nprovides = { sources = [\"corp\"] }\n",
    )
    .unwrap();
    let err = create(Some(&home), None);
    assert!(err.contains("served from wagon home"), "{err}");
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("wagon")).unwrap();
    std::fs::copy(home.join("config.toml"), xdg.join("wagon/config.toml")).unwrap();
    std::fs::create_dir_all(xdg.join("wagon/bin")).unwrap();
    std::fs::copy(
        home.join("bin/wagon-corp"),
        xdg.join("wagon/bin/wagon-corp"),
    )
    .unwrap();
    let err = create(None, Some(&xdg));
    assert!(err.contains("served from wagon home"), "{err}");
    corp_source(&project, "wagon-mine", "served from the project", "");
    std::fs::write(
        project.join("wagon.toml"),
        "[plugins.corp]\npath = \"./wagon-mine\"\n",
    )
    .unwrap();
    let err = create(Some(&home), None);
    assert!(err.contains("served from the project"), "{err}");
}

#[test]
fn index_credentials_stay_out_of_messages_logs_and_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("served");
    demo_wheels(&served);
    let secret = "T0kenS3cretValue";
    let index = LoopbackIndex::serve_with(
        &served,
        IndexOptions {
            basic_auth: Some(("corpuser".to_string(), secret.to_string())),
            ..IndexOptions::default()
        },
    );
    // The build interpreter: a wrapper that records the arguments of every pip it runs, as
    // the system shows them (`/proc/PID/cmdline`), then becomes the real interpreter.
    let argv_log = dir.path().join("argv.log");
    let wrapper = script(
        &dir.path().join("tools"),
        "python-wrapper",
        &format!(
            "tr '\\0' ' ' < /proc/$$/cmdline >> '{log}'\necho >> '{log}'\nexec '{python}' \"$@\"\n",
            log = argv_log.display(),
            python = python3().display()
        ),
    );
    let toml = format!(
        "[create]\noutput = \"dist\"\npython = \"{}\"\n\n\
         [indexes.corp]\nurl = \"{}\"\ndefault = true\n",
        wrapper.display(),
        index
            .simple_url()
            .replace("http://", "http://${CORP_USER}:${CORP_TOKEN}@")
    );
    std::fs::write(dir.path().join("wagon.toml"), toml).unwrap();
    for resolver in ["pip", "wagon"] {
        for (spec, succeeds) in [("demo-app==1.0", true), ("demo-missing==1.0", false)] {
            let out = wagon()
                .args(["create", spec, "-f", "-v", "--resolver", resolver])
                .env("CORP_USER", "corpuser")
                .env("CORP_TOKEN", secret)
                .current_dir(dir.path())
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.success(), succeeds, "{resolver} {spec}: {err}");
            assert!(
                !err.contains(secret) && !String::from_utf8_lossy(&out.stdout).contains(secret),
                "{resolver} {spec} shows the token:\n{err}"
            );
        }
    }
    let argv = std::fs::read_to_string(&argv_log).unwrap();
    assert!(argv.contains("pip"), "pip ran through the wrapper: {argv}");
    assert!(
        !argv.contains(secret),
        "the token is in pip's arguments:\n{argv}"
    );
    assert!(
        index
            .request_log()
            .iter()
            .any(|r| r.authorization.is_some()),
        "the credentials reached the index"
    );
}
