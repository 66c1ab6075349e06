"""The failure-mode taxonomy of `model_inference.failure_mode(s)`: each value, what it means,
and the published taxonomy it comes from (README, "Failure modes").

Sources, as cited in the docs:
- MAST: Cemri et al., "Why Do Multi-Agent LLM Systems Fail?" (arXiv:2503.13657, NeurIPS 2025
  Datasets and Benchmarks), 14 failure modes FM-1.1..FM-3.3 in three categories.
- Microsoft AIRT: "Taxonomy of Failure Modes in Agentic AI Systems" (Microsoft AI Red Team,
  April 2025, v1.0; v2.0 June 2026 added goal hijacking among seven new modes).
- kb: values kb had before version 2, and values the public incidents in examples/ needed
  that neither taxonomy names (output corrupted by the serving stack; sycophancy).
"""

from __future__ import annotations

from typing import Literal

# value -> (meaning, source)
FAILURE_MODES: dict[str, tuple[str, str]] = {
    # kb version 1
    "plan_error": ("The agent chose the wrong plan or scenario for the situation.", "kb"),
    "invalid_tool": ("The agent called a tool that does not exist or is not allowed.", "kb"),
    "tool_args_invalid": ("A tool call's arguments did not match its schema.", "kb"),
    "tool_args_wrong_value": ("A tool call's arguments were valid but wrong for the situation.", "kb"),
    "false_completion": ("The agent reported a task done, or a state recovered, when it was not.", "kb"),
    "context_misread": ("The agent misread what was in its context.", "kb"),
    "fabrication": ("The agent stated or produced facts, data or results that do not exist.", "kb"),
    "constraint_violation": (
        "The agent broke an explicit instruction or constraint (a freeze, a scope); MAST FM-1.1 disobey task "
        "specification.",
        "kb, MAST FM-1.1",
    ),
    "multi_agent_misalignment": ("Agents worked against each other (MAST category FC2).", "kb, MAST FC2"),
    "loop_inefficiency": ("The agent repeated steps without progress; MAST FM-1.3 step repetition.", "kb, MAST FM-1.3"),
    # MAST (multi-agent system failure taxonomy)
    "role_violation": ("An agent acted outside its assigned role.", "MAST FM-1.2"),
    "context_loss": ("Earlier conversation or instructions were lost from the context.", "MAST FM-1.4"),
    "unaware_of_termination": ("The agent did not recognise that the task had ended.", "MAST FM-1.5"),
    "conversation_reset": ("A conversation restarted and lost its progress.", "MAST FM-2.1"),
    "clarification_not_sought": ("The agent guessed where it should have asked.", "MAST FM-2.2"),
    "task_derailment": ("The agent drifted away from the task it was given.", "MAST FM-2.3"),
    "information_withheld": ("An agent held back information another agent or person needed.", "MAST FM-2.4"),
    "input_ignored": ("An agent ignored another agent's or a person's input.", "MAST FM-2.5"),
    "reasoning_action_mismatch": ("The agent's stated reasoning and its action disagree.", "MAST FM-2.6"),
    "premature_termination": ("The agent stopped before the task was done.", "MAST FM-3.1"),
    "verification_missing": ("No or incomplete verification of the result.", "MAST FM-3.2"),
    "verification_wrong": ("A verification step approved a wrong result.", "MAST FM-3.3"),
    # Microsoft AI Red Team, taxonomy of failure modes in agentic AI systems
    "agent_compromise": ("An agent's prompt, code or parameters were modified by an attacker.", "Microsoft AIRT"),
    "agent_injection": ("A rogue agent was inserted into the system.", "Microsoft AIRT"),
    "agent_impersonation": ("Something posed as a legitimate agent.", "Microsoft AIRT"),
    "agent_flow_manipulation": ("The flow between agents was tampered with.", "Microsoft AIRT"),
    "multi_agent_jailbreak": ("Agents were played against each other to bypass safeguards.", "Microsoft AIRT"),
    "memory_poisoning": ("Malicious or false content in the agent's memory steered later actions.", "Microsoft AIRT"),
    "prompt_injection": (
        "Instructions hidden in data the agent read (cross-domain prompt injection, XPIA).",
        "Microsoft AIRT",
    ),
    "human_in_the_loop_bypass": ("An approval step was skipped, fooled or made meaningless.", "Microsoft AIRT"),
    "goal_hijacking": ("The agent's objective was redirected without a full compromise.", "Microsoft AIRT v2.0"),
    # needed by real incidents, named by no taxonomy above
    "destructive_action": (
        "The agent took an irreversible action (deleted data, dropped a table) it had no authority for.",
        "kb (examples: coding agent deleted a production database)",
    ),
    "sycophancy": (
        "The model told the user what pleased them over what was true or good for them.",
        "kb (examples: GPT-4o sycophancy rollback)",
    ),
    "output_corruption": (
        "The serving stack (routing, precision, compiler, sampling) corrupted the model's output; the model and "
        "its inputs were fine.",
        "kb (examples: three infrastructure bugs)",
    ),
}

FailureMode = Literal[
    "plan_error",
    "invalid_tool",
    "tool_args_invalid",
    "tool_args_wrong_value",
    "false_completion",
    "context_misread",
    "fabrication",
    "constraint_violation",
    "multi_agent_misalignment",
    "loop_inefficiency",
    "role_violation",
    "context_loss",
    "unaware_of_termination",
    "conversation_reset",
    "clarification_not_sought",
    "task_derailment",
    "information_withheld",
    "input_ignored",
    "reasoning_action_mismatch",
    "premature_termination",
    "verification_missing",
    "verification_wrong",
    "agent_compromise",
    "agent_injection",
    "agent_impersonation",
    "agent_flow_manipulation",
    "multi_agent_jailbreak",
    "memory_poisoning",
    "prompt_injection",
    "human_in_the_loop_bypass",
    "goal_hijacking",
    "destructive_action",
    "sycophancy",
    "output_corruption",
]
