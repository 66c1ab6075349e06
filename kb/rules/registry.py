"""Every rule, listed by hand: importing a rule module registers nothing, and a rule that is
not listed here does not run (tests/test_architecture.py fails on a rule module missing here)."""

from __future__ import annotations

from kb.rules.alerting.card_trigger_alert_undefined import TriggerAlertUndefined
from kb.rules.alerting.emit_out_of_date import EmitOutOfDate
from kb.rules.alerting.emit_promql_invalid import PromqlInvalid
from kb.rules.alerting.emit_relative_runbook_url import RelativeRunbookUrl
from kb.rules.alerting.emit_replay_fails import ReplayFails
from kb.rules.alerting.rules_alert_priority_mismatch import AlertPriorityMismatch
from kb.rules.alerting.rules_alert_without_card import AlertWithoutCard
from kb.rules.alerting.rules_alert_without_priority import AlertWithoutPriority
from kb.rules.alerting.rules_priority_not_routed import PriorityNotRouted
from kb.rules.base import Rule
from kb.rules.cards.card_irreversible_without_approval import IrreversibleWithoutApproval
from kb.rules.cards.card_stale_verification import StaleVerification
from kb.rules.cards.card_step_without_done import StepWithoutDone
from kb.rules.cards.card_vague_step_without_worklist import VagueStepWithoutWorklist
from kb.rules.files.config_docs_dir_missing import DocsDirMissing
from kb.rules.files.config_invalid import ConfigInvalid
from kb.rules.files.file_symlink_outside import SymlinkOutside
from kb.rules.files.file_todo_placeholder import TodoPlaceholder
from kb.rules.files.file_unreadable import FileUnreadable
from kb.rules.files.id_duplicate import IdDuplicate
from kb.rules.files.id_file_name_mismatch import IdFileNameMismatch
from kb.rules.files.ref_missing_reference_file import MissingReferenceFile
from kb.rules.files.ref_unknown_card import UnknownCard
from kb.rules.files.ref_unknown_postmortem import UnknownPostmortem
from kb.rules.files.ref_unknown_rotation import UnknownRotation
from kb.rules.files.ref_unknown_section import UnknownSection
from kb.rules.files.schema_invalid_value import SchemaInvalidValue
from kb.rules.files.schema_missing_field import SchemaMissingField
from kb.rules.files.schema_timestamp_without_offset import TimestampWithoutOffset
from kb.rules.files.schema_unknown_field import SchemaUnknownField
from kb.rules.files.suppression_unused import UnusedSuppression
from kb.rules.files.yaml_invalid import YamlInvalid
from kb.rules.oncall.access_agent_first_responder import AgentFirstResponder
from kb.rules.oncall.access_business_hours_only import BusinessHoursOnly
from kb.rules.oncall.access_grant_matches_nothing import GrantMatchesNothing
from kb.rules.oncall.access_missing_permission import MissingPermission
from kb.rules.oncall.access_no_approver import NoApprover
from kb.rules.oncall.access_unknown_permission import UnknownPermission
from kb.rules.oncall.membership_drift import MembershipDrift
from kb.rules.oncall.membership_unknown_member import UnknownMember
from kb.rules.oncall.membership_unreadable import MembershipUnreadable
from kb.rules.oncall.oncall_ambiguous_identity import AmbiguousIdentity
from kb.rules.oncall.oncall_unknown_reference import OncallUnknownReference
from kb.rules.oncall.rotation_bad_escalation import BadEscalation
from kb.rules.oncall.rotation_coverage_below_priority import CoverageBelowPriority
from kb.rules.oncall.rotation_understaffed import RotationUnderstaffed
from kb.rules.oncall.schedule_coverage_gap import CoverageGap
from kb.rules.oncall.schedule_export_ends_soon import ExportEndsSoon
from kb.rules.oncall.schedule_shift_agent_alone import ShiftAgentAlone
from kb.rules.oncall.schedule_shift_by_non_member import ShiftByNonMember
from kb.rules.oncall.schedule_shift_missing_permission import ShiftMissingPermission
from kb.rules.oncall.schedule_shift_no_approver import ShiftNoApprover
from kb.rules.oncall.schedule_unmapped_shift import UnmappedShift
from kb.rules.oncall.schedule_unreadable import ScheduleUnreadable
from kb.rules.postmortems.postmortem_complete_needs_reinforcements import CompleteNeedsReinforcements
from kb.rules.postmortems.postmortem_duration_contradicts_timestamps import DurationContradictsTimestamps
from kb.rules.postmortems.postmortem_inference_needs_inference_fix import InferenceNeedsInferenceLevelFix
from kb.rules.postmortems.postmortem_model_inference_row import ModelInferenceRow
from kb.rules.postmortems.postmortem_recovery_above_target import RecoveryAboveTarget
from kb.rules.postmortems.postmortem_reinforcement_not_emitted import ReinforcementNotEmitted
from kb.rules.postmortems.postmortem_reinforcement_overdue import ReinforcementOverdue
from kb.rules.postmortems.postmortem_review_needs_narrative import ReviewNeedsNarrative
from kb.rules.postmortems.postmortem_root_cause_without_mechanism import RootCauseWithoutMechanism
from kb.rules.postmortems.postmortem_telemetry_unknown_key import TelemetryUnknownKey
from kb.rules.postmortems.postmortem_timeline_out_of_order import TimelineOutOfOrder
from kb.rules.postmortems.postmortem_timestamps_out_of_order import TimestampsOutOfOrder
from kb.rules.postmortems.postmortem_unknown_root_cause import UnknownRootCause
from kb.rules.router.card_copies_reference import CardCopiesReference
from kb.rules.router.router_alert_not_on_router import AlertNotOnRouter
from kb.rules.router.router_alert_routed_twice import AlertRoutedTwice
from kb.rules.router.router_budget import RouterBudget
from kb.rules.router.router_card_routed_twice import CardRoutedTwice
from kb.rules.router.router_card_unreachable import CardUnreachable
from kb.rules.router.router_line_links import RouterLineLinks
from kb.rules.runs.card_drilled_without_log import DrilledWithoutLog
from kb.rules.runs.run_approval_not_allowed import RunApprovalNotAllowed
from kb.rules.runs.run_drill_above_target import DrillAboveTarget
from kb.rules.runs.run_hash_chain_broken import RunHashChainBroken
from kb.rules.runs.run_invalid_line import RunInvalidLine
from kb.rules.runs.run_irreversible_without_approval import RunIrreversibleWithoutApproval
from kb.rules.runs.run_name_mismatch import RunNameMismatch
from kb.rules.runs.run_out_of_sequence import RunOutOfSequence
from kb.rules.runs.run_time_backwards import RunTimeBackwards
from kb.rules.runs.run_unknown_actor import RunUnknownActor
from kb.rules.runs.run_unknown_card import RunUnknownCard
from kb.rules.runs.run_unknown_step import RunUnknownStep
from kb.rules.runs.run_worklist_without_items import WorklistWithoutItems
from kb.rules.secrets.secret_detected import SecretDetected

RULES: tuple[type[Rule], ...] = (
    YamlInvalid,
    ConfigInvalid,
    SymlinkOutside,
    FileUnreadable,
    DocsDirMissing,
    SchemaInvalidValue,
    SchemaUnknownField,
    SchemaMissingField,
    TimestampWithoutOffset,
    IdFileNameMismatch,
    IdDuplicate,
    UnknownRotation,
    UnknownPostmortem,
    UnknownCard,
    MissingReferenceFile,
    UnknownSection,
    TodoPlaceholder,
    UnusedSuppression,
    StepWithoutDone,
    VagueStepWithoutWorklist,
    IrreversibleWithoutApproval,
    StaleVerification,
    MissingPermission,
    BusinessHoursOnly,
    UnknownPermission,
    GrantMatchesNothing,
    RotationUnderstaffed,
    CoverageBelowPriority,
    BadEscalation,
    OncallUnknownReference,
    NoApprover,
    AgentFirstResponder,
    ScheduleUnreadable,
    UnmappedShift,
    ShiftMissingPermission,
    ShiftNoApprover,
    CoverageGap,
    ShiftByNonMember,
    ExportEndsSoon,
    MembershipUnreadable,
    MembershipDrift,
    UnknownMember,
    AmbiguousIdentity,
    ShiftAgentAlone,
    TimestampsOutOfOrder,
    TimelineOutOfOrder,
    ModelInferenceRow,
    ReviewNeedsNarrative,
    CompleteNeedsReinforcements,
    InferenceNeedsInferenceLevelFix,
    ReinforcementOverdue,
    RecoveryAboveTarget,
    ReinforcementNotEmitted,
    DurationContradictsTimestamps,
    UnknownRootCause,
    RootCauseWithoutMechanism,
    TelemetryUnknownKey,
    RouterBudget,
    RouterLineLinks,
    CardUnreachable,
    CardRoutedTwice,
    AlertNotOnRouter,
    AlertRoutedTwice,
    CardCopiesReference,
    EmitOutOfDate,
    RelativeRunbookUrl,
    PromqlInvalid,
    ReplayFails,
    AlertPriorityMismatch,
    AlertWithoutPriority,
    PriorityNotRouted,
    AlertWithoutCard,
    TriggerAlertUndefined,
    SecretDetected,
    RunInvalidLine,
    RunHashChainBroken,
    RunUnknownCard,
    RunNameMismatch,
    RunUnknownStep,
    RunTimeBackwards,
    RunUnknownActor,
    RunApprovalNotAllowed,
    RunIrreversibleWithoutApproval,
    RunOutOfSequence,
    DrilledWithoutLog,
    DrillAboveTarget,
    WorklistWithoutItems,
)

# An old code or name that still selects, ignores and suppresses a rule after it moved:
# alias -> the rule's current code. No rule has moved yet.
ALIASES: dict[str, str] = {}

# Rule families: the folder under kb/rules/ and the code range it owns.
FAMILIES: dict[str, range] = {
    "files": range(100, 200),
    "cards": range(200, 300),
    "oncall": range(300, 400),
    "postmortems": range(400, 500),
    "router": range(500, 600),
    "alerting": range(600, 700),
    "secrets": range(700, 800),
    "runs": range(800, 900),
}
