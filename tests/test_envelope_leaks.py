"""Second-generation envelope recovery (issue 13): the four classes of leaks the first parser got
wrong, the one rule checked on everything shown, the answers that merely contain JSON, and calls to
tools of other agents.

The classes, each with the shapes public reports show (the corpus holds the quoted payloads):
1. bare JSON calls: `{"name", "arguments"|"parameters"}`, arrays of them, our own argument objects;
2. a recipient without a body (`to=functions.NAME` then nothing, `...`, prose, or `</commentary ...>`);
3. channel words glued to junk (`XYZanalysis to=container.exec`), junk before the JSON body;
4. role and channel residue (`commentary to=assistant`, `assistantcode{...}`).
"""

from __future__ import annotations

import json

import pytest

from codex_lite.envelope import MARKER_EXAMPLES, find_leak, recover
from codex_lite.tools import calls


def one(got):
    assert len(got.calls) == 1, got.calls
    return got.calls[0]


# -- class 1: bare JSON calls ----------------------------------------------------------------------

@pytest.mark.parametrize("content, name, arguments", [
    ('{"name": "shell", "parameters": {"command": ["ls"]}}', "shell", {"command": ["ls"]}),
    ('{"name": "functions.shell", "arguments": "{\\"command\\": [\\"ls\\"]}"}', "shell", {"command": ["ls"]}),
    ('```json\n{"name": "shell", "arguments": {"command": ["ls"]}}\n```', "shell", {"command": ["ls"]}),
    ('{"name": "shell", "arguments": {"command": ["ls"]}}]', "shell", {"command": ["ls"]}),
    ('{"name": "shell", "arguments": {"command": ["ls"]}}\n}', "shell", {"command": ["ls"]}),
    ('{"command": ["git", "status"]}', "shell", {"command": ["git", "status"]}),
    ('{"cmd": ["git", "status"], "workdir": "sub"}', "shell", {"command": ["git", "status"], "workdir": "sub"}),
    ('{"command": "make test", "timeout_ms": 5000}', "shell",
     {"command": ["bash", "-lc", "make test"], "timeout_ms": 5000}),
    ('{"input": "*** Begin Patch\\n*** Add File: a.txt\\n+hi\\n*** End Patch"}', "apply_patch",
     {"input": "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"}),
    ('{"input": "*** Begin Patch\\n*** Add File: a.txt\\n+hi\\n*** End Patch"}]', "apply_patch",
     {"input": "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"}),
    ('{"plan": [{"step": "read", "status": "in_progress"}]}', "update_plan",
     {"plan": [{"step": "read", "status": "in_progress"}]}),
    ('{"type": "function", "function": {"name": "shell", "arguments": "{\\"command\\": [\\"ls\\"]}"}}',
     "shell", {"command": ["ls"]}),
])
def test_bare_json_calls_are_run(content, name, arguments):
    got = recover(content)
    call = one(got)
    assert (got.text, call.name, call.arguments, call.origin) == ("", name, arguments, "bare_json")


def test_an_array_of_calls_runs_each():
    got = recover('[{"name": "shell", "arguments": {"command": ["ls"]}}, '
                  '{"name": "shell", "arguments": {"command": ["pwd"]}}]')
    assert [c.arguments["command"] for c in got.calls] == [["ls"], ["pwd"]] and got.text == ""


def test_a_bare_call_cut_short_is_answered_with_how_to_call_it():
    got = recover('{"name": "shell", "arguments": {"command": ["cat", "READ')
    call = one(got)
    assert call.name == "shell" and "truncated" in call.error and calls.EXAMPLES["shell"] in call.error
    got = recover('{"input": "*** Begin Patch\\n*** Add File: a.txt\\n+h')
    assert one(got).name == "apply_patch" and "truncated" in one(got).error


# 15+ answers that merely contain JSON, or JSON that is not a call, stay answers.
FALSE_POSITIVES = [
    '{"name": "Alice", "age": 30}',                                         # JSON the user asked for
    '[{"name": "a", "id": 1}, {"name": "b", "id": 2}]',                      # an array of records
    'Here is the call:\n```json\n{"name": "shell", "arguments": {"command": ["ls"]}}\n```\nRun it.',
    '{"name": "my-app", "version": "1.0.0", "scripts": {"test": "jest"}}',   # a package.json shown
    '{"name": "get_weather", "description": "Get the weather", "parameters": '
    '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}',  # a tool schema
    '{"name": "git", "arguments": ["commit", "-m", "x"]}',                   # arguments not an object
    '{"label": "build", "command": "make", "group": "build"}',               # a VS Code task
    '{"command": "npm start"}',                                             # a bare string command
    '{"input": "hello world"}',                                             # input that is no patch
    '{"plan": ["read", "fix"]}',                                            # a plan of strings
    '{"tool_calls": [{"name": "shell", "arguments": {"command": ["ls"]}}]}',  # a wrapper object
    '{"level": "info", "msg": "started", "name": "server"}',                 # a log line
    '{"name": "Alice"}',                                                    # a name alone
    '[{"name": "shell", "arguments": {"command": ["ls"]}}, 42]',             # not only calls
    '{"a": 1} and {"b": 2}',                                                # two objects and prose
    '"hello"',                                                              # a JSON string
    '{}',                                                                   # an empty object
    "{'name': 'shell', 'arguments': {'command': ['ls']}}",                  # a Python dict, not JSON
    '{"command": ["ls", "-la"], "output": "total 0"}',                      # a command and its output
    'The config is {"name": "shell", "arguments": {"command": ["ls"]}} as shown.',
    # a preamble then a call object is an answer that contains JSON, not a call (hermes-agent#56920)
    'Creating the PowerShell script now.\n{"cmd": "mkdir -p /c/Temp"}',
]


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_answers_that_merely_contain_json_stay_answers(text):
    got = recover(text)
    assert (got.text, got.calls) == (text, []), got


def test_bare_json_in_reasoning_is_reasoning():
    got = recover("", ['{"name": "shell", "arguments": {"command": ["ls"]}}'])
    assert got.calls == [] and got.reasoning


# -- class 2: a recipient without a body ---------------------------------------------------------

@pytest.mark.parametrize("content", [
    "to=functions.shell",
    "I will list the files. to=functions.shell",
    "to=functions.shell ...",
    "to=functions.shell Let me check the files.",
    "Let me look.</commentary to=functions.shell>",
    "We need to run the tests, so we call to=functions.shell_command.",
    "<|channel|>commentary to=functions.shell<|message|>",
    "<|channel|>commentary to=functions.shell<|message|>...<|call|>",
    "<|channel|>commentary to=functions.shell<|message|>Let me check the files.<|call|>",
])
def test_a_recipient_without_a_body_is_answered_with_how_to_call(content):
    got = recover(content)
    call = one(got)
    assert call.name == "shell" and call.arguments is None and call.recovered
    assert calls.EXAMPLES["shell"] in call.error, call.error
    assert call.origin == "recipient_only"
    assert find_leak(got.text) is None and "to=" not in got.text


def test_prose_before_a_bare_recipient_stays():
    got = recover("I will list the files. to=functions.shell")
    assert got.text == "I will list the files."


def test_a_recipient_of_an_unknown_tool_without_body_lists_the_tools():
    call = one(recover("Checking the weather. to=functions.get_weather"))
    assert call.name == "get_weather" and "no tool named 'get_weather'" in call.error
    for name in calls.TOOL_NAMES:
        assert name in call.error


def test_a_mention_next_to_a_real_call_is_only_scrubbed():
    got = recover("<|channel|>analysis<|message|>We call to=functions.shell now.<|end|>"
                  '<|start|>assistant<|channel|>commentary to=functions.shell<|message|>{"command":["ls"]}<|call|>')
    assert [(c.name, c.arguments) for c in got.calls] == [("shell", {"command": ["ls"]})]
    assert "to=" not in got.reasoning and got.scrubbed == {"recipient_only": 1}


def test_prose_after_a_recipient_is_never_run_as_a_command():
    for body in ("Let me check the files.", "...", "?", "to list the files."):
        call = one(recover(f"<|channel|>commentary to=functions.shell<|message|>{body}<|call|>"))
        assert call.error and call.arguments is None, body


# -- class 3: channel words glued to junk ---------------------------------------------------------

@pytest.mark.parametrize("junk", ["XYZ", "+#+#+#", "北京赛车冠军", "মন্তব্য", "ꙮꙮ", "\U0004e000"])
def test_junk_glued_before_a_channel_word(junk):
    got = recover(f'Done reading. {junk}analysis to=container.exec {{"cmd": ["ls"]}}')
    call = one(got)
    assert (call.name, call.arguments, call.origin) == ("shell", {"command": ["ls"]}, "glued_channel")
    assert got.text == "Done reading."


@pytest.mark.parametrize("between", [" json 天天中彩票", " code  全民彩票天天送钱", "  天天中彩票是json\n  ",
                                     " ＿久久爱িং json\n", " 】【”】【json       \n  "])
def test_junk_between_the_header_and_the_json_body(between):
    got = recover(f'analysis to=functions.shell{between}{{"command": ["pwd"]}}')
    assert one(got).arguments == {"command": ["pwd"]}
    assert got.text == ""


def test_a_recipient_inside_json_arguments_is_not_a_header():
    patch = ("*** Begin Patch\n*** Add File: doc.md\n+a call looks like commentary to=functions.shell json{}\n"
             "*** End Patch")
    got = recover('<|channel|>commentary to=functions.apply_patch<|message|>' + json.dumps({"input": patch}))
    assert one(got).arguments == {"input": patch}


# -- class 4: role and channel residue -------------------------------------------------------------

@pytest.mark.parametrize("content", [
    "commentary to=assistant<|channel|>final?...",
    "commentary to=assistantfinal?...",
    "commentary to=assistant analysis?...",
    "<|channel|>commentary to=assistant<|message|>?...",
])
def test_residue_is_never_shown_as_the_answer(content):
    got = recover(content)
    assert got.text == "" and got.calls == [] and find_leak(got.reasoning) is None, got
    assert got.scrubbed.get("residue"), got


def test_role_glued_to_a_content_type_asks_for_a_named_call():
    call = one(recover('assistantcode{"path": "", "pattern": "x"}'))
    assert call.name == "unnamed_tool" and "no tool name" in call.error and call.origin == "residue"
    for name in calls.TOOL_NAMES:
        assert name in call.error


def test_a_real_answer_after_residue_is_kept():
    got = recover("commentary to=assistant analysis?...<|start|>assistant<|channel|>final<|message|>All done.")
    assert got.text == "All done."


# -- the one rule: nothing shown carries a token, a recipient or a channel glued to a role ----------

@pytest.mark.parametrize("marker", MARKER_EXAMPLES)
def test_find_leak_sees_every_marker(marker):
    assert find_leak(f"Some text {marker} more text") is not None


@pytest.mark.parametrize("clean", [
    "Set redirect_to=home.html in the form.", "ForeignKey(to=User)", "send(to=user.email)",
    "The analysis of the final commentary.", "Finally, the assistant replied.", "a < b | c > d",
    "x = {'to': 'functions'}", "mail to=bob@example.com",
])
def test_find_leak_leaves_prose_and_code_alone(clean):
    assert find_leak(clean) is None
    assert recover(clean).text == clean


# -- tools of other agents -------------------------------------------------------------------------

@pytest.mark.parametrize("name, arguments, ours, expected", [
    ("Shell", {"command": "ls"}, "shell", {"command": ["bash", "-lc", "ls"]}),
    ("execute_bash", {"command": "ls"}, "shell", {"command": ["bash", "-lc", "ls"]}),
    ("run_terminal_cmd", {"command": "ls", "is_background": False}, "shell",
     {"command": ["bash", "-lc", "ls"], "is_background": False}),
    ("container.exec", {"cmd": ["ls"]}, "shell", {"command": ["ls"]}),
    ("bash", {"command": "ls"}, "shell", {"command": ["bash", "-lc", "ls"]}),
    ("shell_command", {"command": "ls"}, "shell", {"command": ["bash", "-lc", "ls"]}),
    ("read_file", {"path": "a.txt"}, "shell", {"command": ["cat", "a.txt"]}),
    ("read_file", {"path": "-n"}, "shell", {"command": ["cat", "./-n"]}),  # a file name, not an option
    ("Read", {"file_path": "a.txt", "offset": 10, "limit": 5}, "shell", {"command": ["sed", "-n", "10,14p", "a.txt"]}),
    ("view_file", {"path": "a.txt", "start_line": 3, "end_line": 9}, "shell",
     {"command": ["sed", "-n", "3,9p", "a.txt"]}),
    ("Write", {"file_path": "a.txt", "content": "x\ny\n"}, "apply_patch",
     {"input": "*** Begin Patch\n*** Add File: a.txt\n+x\n+y\n*** End Patch"}),
    ("write_file", {"path": "e.txt", "content": ""}, "apply_patch",
     {"input": "*** Begin Patch\n*** Add File: e.txt\n*** End Patch"}),
    ("edit_file", {"path": "a.txt", "patch": "*** Begin Patch\n*** Delete File: a.txt\n*** End Patch"},
     "apply_patch", {"input": "*** Begin Patch\n*** Delete File: a.txt\n*** End Patch"}),
    ("TodoWrite", {"todos": [{"content": "read", "status": "pending"}]}, "update_plan",
     {"plan": [{"step": "read", "status": "pending"}]}),
])
def test_foreign_tools_map_to_ours(name, arguments, ours, expected):
    got = recover(json.dumps({"name": name, "arguments": arguments}))
    call = one(got)
    assert (call.name, call.arguments) == (ours, expected), call.error


def test_foreign_tools_map_in_structured_calls_too():
    got = recover(None, [], [("c1", "Write", json.dumps({"file_path": "a.txt", "content": "hi"}))])
    assert one(got).name == "apply_patch" and one(got).call_id == "c1" and not one(got).recovered


def test_a_search_and_replace_edit_is_not_guessed():
    call = one(recover(json.dumps({"name": "Edit", "arguments": {"file_path": "a", "old_string": "x",
                                                                 "new_string": "y"}})))
    assert call.arguments is None and "apply_patch" in call.error and calls.EXAMPLES["apply_patch"] in call.error


def test_unknown_tools_keep_their_name_for_the_agent_to_refuse():
    call = one(recover('{"name": "get_weather", "arguments": {"city": "Berlin"}}'))
    assert (call.name, call.arguments) == ("get_weather", {"city": "Berlin"})
    message = calls.unknown_tool("get_weather")
    assert "get_weather" in message and all(calls.EXAMPLES[n] in message for n in calls.TOOL_NAMES)


def test_errors_for_our_tools_say_how_to_call_them():
    call = one(recover('<|channel|>commentary to=functions.apply_patch<|message|>{"patch": 3}<|call|>'))
    assert calls.EXAMPLES["apply_patch"] in call.error
