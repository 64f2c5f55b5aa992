"""The node graph, described once, as data.

`NODE_KINDS` lists every node: its executable name (the same snake_case word as the node,
the module and the ROS executable), its config dataclass, and the topics and services it
uses, named by the config fields that hold them. `GRAPHS` lists the graphs we run, each a
set of node instances with parameter overrides. Everything else is derived from here:
- ``robot-rl graph up`` starts a graph as processes (`robot_rl.nodes.process`), over the
  dds backend or, as ``ros2 launch`` would, the robot_rl_ros executables under rclpy;
- the ros2 launch files and parameter files (`robot_rl.nodes.launch_gen`); both take each
  node's package, executable, name and ``use_sim_time`` from `launched_nodes`;
- the consistency checks (`check_graph`): every subscription has a publisher, types agree,
  and the impedance bridge is the only publisher of ``target_pose``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from robot_rl.nodes.params import config_from_params

Role = Literal["pub", "sub", "serve", "call"]


@dataclass(frozen=True)
class Use:
    """A topic or service a node uses. ``name`` is a template over its config fields:
    ``{target_pose_topic}``, or ``{camera_namespace}/{cameras[*]}/image_raw`` for one name
    per element of a tuple field."""

    role: Role
    name: str
    ros_type: str  # "geometry_msgs/msg/PoseStamped", "robot_rl_interfaces/srv/Reset"
    when: str = ""  # a bool config field that must be true for the use to exist


@dataclass(frozen=True)
class NodeKind:
    """One kind of node."""

    name: str  # node, executable and module name
    summary: str
    config: str  # "module:Class" of the config dataclass
    node: str  # "module:Class" of the node; its constructor is (bus, cfg[, spin], name)
    uses: tuple[Use, ...]
    takes_spin: bool = False  # the constructor takes the loop's spin_once (blocking nodes)
    drives: bool = False  # has a blocking run(stop) (the actor); others are polled

    def config_class(self) -> type:
        """The config dataclass (imported on demand)."""
        return _load(self.config)

    def node_class(self) -> type:
        """The node class (imported on demand)."""
        return _load(self.node)


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


_POSE = "geometry_msgs/msg/PoseStamped"
_DIAG = "diagnostic_msgs/msg/DiagnosticArray"
_RESET = "robot_rl_interfaces/srv/Reset"
_IMAGE = "sensor_msgs/msg/Image"
_EVENT = "robot_rl_interfaces/msg/EpisodeEvent"
_OBJECTS = "robot_rl_interfaces/msg/ObjectState"

NODE_KINDS: dict[str, NodeKind] = {
    k.name: k
    for k in (
        NodeKind(
            "twin",
            "MuJoCo twin cell: robot driver, controller, cameras and world",
            "robot_rl.nodes.twin:TwinNodeConfig",
            "robot_rl.nodes.twin:TwinNode",
            (
                Use("pub", "{current_pose_topic}", _POSE),
                Use("pub", "{joint_states_topic}", "sensor_msgs/msg/JointState"),
                Use("pub", "{external_wrench_topic}", "geometry_msgs/msg/WrenchStamped"),
                Use("pub", "{reward_topic}", "robot_rl_interfaces/msg/RewardEstimate"),
                Use("pub", "{object_state_topic}", _OBJECTS),
                Use("pub", "{camera_namespace}/{cameras[*]}/image_raw", _IMAGE),
                Use(
                    "pub",
                    "{camera_namespace}/{cameras[*]}/camera_info",
                    "sensor_msgs/msg/CameraInfo",
                ),
                Use("pub", "{clock_topic}", "rosgraph_msgs/msg/Clock", when="lockstep"),
                Use("pub", "{diagnostics_topic}", _DIAG),
                Use("sub", "{target_pose_topic}", _POSE),
                Use("sub", "{gripper_topic}", "std_msgs/msg/Float32"),
                Use("sub", "{action_topic}", "robot_rl_interfaces/msg/Action", when="lockstep"),
                Use("sub", "{goal_topic}", _POSE, when="lockstep"),
                Use("serve", "{reset_objects_service}", _RESET),
            ),
        ),
        NodeKind(
            "impedance_bridge",
            "actions and goals -> safety filter + watchdog -> target_pose (the only publisher)",
            "robot_rl.nodes.impedance_bridge:BridgeConfig",
            "robot_rl.nodes.impedance_bridge:ImpedanceBridge",
            (
                Use("pub", "{target_pose_topic}", _POSE),
                Use("pub", "{gripper_topic}", "std_msgs/msg/Float32"),
                Use("pub", "{diagnostics_topic}", _DIAG),
                Use("sub", "{current_pose_topic}", _POSE),
                Use("sub", "{action_topic}", "robot_rl_interfaces/msg/Action"),
                Use("sub", "{goal_topic}", _POSE),
            ),
        ),
        NodeKind(
            "reset",
            "min-jerk move to a random home pose through the bridge; twin object reset",
            "robot_rl.nodes.reset:ResetConfig",
            "robot_rl.nodes.reset:ResetNode",
            (
                Use("pub", "{goal_topic}", _POSE),
                Use("pub", "{gripper_topic}", "std_msgs/msg/Float32"),
                Use("pub", "{episode_events_topic}", _EVENT),
                Use("sub", "{current_pose_topic}", _POSE),
                Use("serve", "{reset_service}", _RESET),
                Use("call", "{twin_reset_service}", _RESET),
            ),
        ),
        NodeKind(
            "camera",
            "RealSense colour camera (live or recording) -> Image + CameraInfo",
            "robot_rl.nodes.camera:CameraNodeConfig",
            "robot_rl.nodes.camera:CameraNode",
            (
                Use("pub", "{camera_namespace}/{name}/image_raw", _IMAGE),
                Use("pub", "{camera_namespace}/{name}/camera_info", "sensor_msgs/msg/CameraInfo"),
                Use("pub", "/diagnostics", _DIAG),
            ),
        ),
        NodeKind(
            "actor",
            "policy in a cell via the bus env; numbered transitions out, weights in",
            "robot_rl.nodes.actor:ActorNodeConfig",
            "robot_rl.nodes.actor:ActorNode",
            (
                Use("pub", "{env.action_topic}", "robot_rl_interfaces/msg/Action"),
                Use("pub", "{env.episode_events_topic}", _EVENT),
                Use("pub", "{transitions_topic}", "robot_rl_interfaces/msg/Transition"),
                Use("pub", "{diagnostics_topic}", _DIAG),
                Use("sub", "{obs.current_pose_topic}", _POSE),
                Use("sub", "{obs.joint_states_topic}", "sensor_msgs/msg/JointState"),
                Use("sub", "{obs.external_wrench_topic}", "geometry_msgs/msg/WrenchStamped"),
                Use("sub", "{obs.camera_namespace}/{obs.cameras[*]}/{obs.image_suffix}", _IMAGE),
                Use("sub", "{obs.object_state_topic}", _OBJECTS, when="obs.object_state_dim"),
                Use("sub", "{env.reward_topic}", "robot_rl_interfaces/msg/RewardEstimate"),
                Use("sub", "{hil.teleop_topic}", "robot_rl_interfaces/msg/TeleopCommand"),
                Use("sub", "{ack_topic}", "robot_rl_interfaces/msg/TransitionAck"),
                Use("sub", "{weights_topic}", "robot_rl_interfaces/msg/PolicyWeights"),
                Use("sub", "{control_topic}", _EVENT),
                Use("call", "{env.reset_service}", _RESET),
            ),
            takes_spin=True,
            drives=True,
        ),
        NodeKind(
            "gui",
            "the operator's cockpit page: cameras, status, take-over (teleop), episode controls",
            "robot_rl.nodes.gui:GuiNodeConfig",
            "robot_rl.nodes.gui:GuiNode",
            (
                Use("pub", "{teleop_topic}", "robot_rl_interfaces/msg/TeleopCommand"),
                Use("pub", "{episode_control_topic}", _EVENT),
                Use("pub", "{estop_topic}", "std_msgs/msg/String"),
                Use("pub", "{diagnostics_topic}", _DIAG),
                Use("sub", "{camera_namespace}/{cameras[*]}/image_raw", _IMAGE),
                Use("sub", "{episode_events_topic}", _EVENT),
                Use("sub", "{reward_topic}", "robot_rl_interfaces/msg/RewardEstimate"),
                Use("sub", "{action_topic}", "robot_rl_interfaces/msg/Action"),
                Use("sub", "{diagnostics_topic}", _DIAG),
            ),
        ),
        NodeKind(
            "learner",
            "transitions in; acks and versioned weights out; checkpoint and resume",
            "robot_rl.nodes.learner:LearnerConfig",
            "robot_rl.nodes.learner:LearnerNode",
            (
                Use("pub", "{ack_topic}", "robot_rl_interfaces/msg/TransitionAck"),
                Use("pub", "{weights_topic}", "robot_rl_interfaces/msg/PolicyWeights"),
                Use("pub", "{diagnostics_topic}", _DIAG),
                Use("sub", "{transitions_topic}", "robot_rl_interfaces/msg/Transition"),
            ),
        ),
    )
}


@dataclass(frozen=True)
class Instance:
    """A node in a graph: its kind, ROS node name and parameter overrides (dotted)."""

    kind: str
    name: str = ""  # "" = the kind's name
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def node_name(self) -> str:
        """ROS node name."""
        return self.name or self.kind


@dataclass(frozen=True)
class External:
    """Something outside our graph that provides or consumes topics (a driver)."""

    name: str
    uses: tuple[Use, ...]  # names are literal topic names here


@dataclass(frozen=True)
class Graph:
    """A graph we run."""

    name: str
    summary: str
    nodes: tuple[Instance, ...]
    sim_time: bool = False  # every node but the twin follows /clock (use_sim_time)
    external: tuple[External, ...] = ()

    def instance(self, node_name: str) -> Instance:
        """The instance called ``node_name``."""
        for inst in self.nodes:
            if inst.node_name == node_name:
                return inst
        raise KeyError(f"graph {self.name!r} has no node {node_name!r}")


# -------------------------------------------------------------------- the graphs
_TASK = "reach"  # the default task of the twin graphs (override twin.task and reset.task)
_TWIN_OBS: dict[str, Any] = {"obs.max_age_s": 0.0}  # lock-step: exact observations
_CRISP = External(
    "crisp_controllers (Cartesian impedance controller on the arm, gripper node)",
    (
        Use("pub", "current_pose", _POSE),
        Use("pub", "joint_states", "sensor_msgs/msg/JointState"),
        Use("pub", "external_wrench", "geometry_msgs/msg/WrenchStamped"),
        Use("sub", "target_pose", _POSE),
        Use("sub", "gripper/command", "std_msgs/msg/Float32"),
    ),
)
_REWARD_SOURCE = External(
    "a reward node (success classifier or human labels) publishing RewardEstimate",
    (Use("pub", "reward", "robot_rl_interfaces/msg/RewardEstimate"),),
)
_COMMANDER = External(
    "an actor or teleop node outside the cell publishing actions",
    (Use("pub", "action", "robot_rl_interfaces/msg/Action"),),
)
# The actors take the gui node's teleop commands: holding the page's intervene key takes over.
_TELEOP = {"hil.teleop_topic": "teleop/command"}
_ROBOT_BRIDGE = {"calibration": "default"}
_ROBOT_CAMERAS = (
    Instance("camera", "camera_front", {"name": "front", "device.serial": ""}),
    Instance("camera", "camera_wrist", {"name": "wrist", "device.serial": ""}),
)

GRAPHS: dict[str, Graph] = {
    g.name: g
    for g in (
        Graph(
            "twin_cell",
            "the twin in real time behind the robot's topics: bridge, reset, twin",
            (
                Instance("twin", params={"task": _TASK, "lockstep": False}),
                Instance("impedance_bridge", params={"calibration": "default", "task": _TASK}),
                Instance(
                    "reset", params={"task": _TASK, "twin_reset_service": "twin/reset_objects"}
                ),
            ),
            external=(_COMMANDER,),
        ),
        Graph(
            "robot_cell",
            "a real arm under crisp_controllers: bridge, reset, two RealSense cameras",
            (
                Instance("impedance_bridge", params=_ROBOT_BRIDGE),
                Instance("reset"),
                *_ROBOT_CAMERAS,
            ),
            external=(_CRISP, _COMMANDER),
        ),
        Graph(
            "training",
            "lock-step twin training: twin, bridge, reset, actor, learner, gui on sim time",
            (
                Instance("twin", params={"task": _TASK, "lockstep": True}),
                Instance("impedance_bridge", params={"calibration": "default", "task": _TASK}),
                Instance(
                    "reset", params={"task": _TASK, "twin_reset_service": "twin/reset_objects"}
                ),
                Instance(
                    "actor",
                    params={**_TWIN_OBS, "policy.task": _TASK, **_TELEOP, "hil.task": _TASK},
                ),
                Instance("learner", params={**_TWIN_OBS, "policy.task": _TASK}),
                Instance("gui"),
            ),
            sim_time=True,
        ),
        Graph(
            "robot_training",
            "training on the real cell: robot_cell plus actor, learner and gui",
            (
                Instance("impedance_bridge", params=_ROBOT_BRIDGE),
                Instance("reset"),
                *_ROBOT_CAMERAS,
                Instance("actor", params={"obs.cameras": ["front", "wrist"], **_TELEOP}),
                Instance("learner", params={"obs.cameras": ["front", "wrist"]}),
                Instance("gui"),
            ),
            external=(_CRISP, _REWARD_SOURCE),
        ),
    )
}


# -------------------------------------------------------------------- derived views
def instance_config(inst: Instance, overrides: Mapping[str, Any] | None = None) -> Any:
    """The config of ``inst``: defaults, the graph's parameters, then ``overrides``."""
    cls = NODE_KINDS[inst.kind].config_class()
    cfg: Any = config_from_params(cls, inst.params)
    return config_from_params(cls, overrides, cfg) if overrides else cfg


_FIELD = re.compile(r"\{([a-zA-Z0-9_.]+)(\[\*\])?\}")


def _field(cfg: Any, dotted: str) -> Any:
    value = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def expand(template: str, cfg: Any) -> list[str]:
    """Topic names of a `Use` template for one config (``[*]`` expands over a tuple)."""
    names = [""]
    pos = 0
    for m in _FIELD.finditer(template):
        literal = template[pos : m.start()]
        value = _field(cfg, m.group(1))
        options = [str(v) for v in value] if m.group(2) else [str(value)]
        names = [n + literal + o for n in names for o in options]
        pos = m.end()
    return [n + template[pos:] for n in names]


def _resolve(name: str) -> str:
    return name if name.startswith("/") else "/" + name


@dataclass(frozen=True)
class Endpoint:
    """One resolved use of a topic/service by a node."""

    node: str
    role: Role
    name: str  # absolute
    ros_type: str


def endpoints(
    graph: Graph, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Endpoint]:
    """Every resolved use in ``graph`` (externals included), with per-node overrides."""
    out: list[Endpoint] = []
    for inst in graph.nodes:
        kind = NODE_KINDS[inst.kind]
        cfg = instance_config(inst, (overrides or {}).get(inst.node_name))
        for use in kind.uses:
            if use.when and not _field(cfg, use.when):
                continue
            for name in expand(use.name, cfg):
                if name and not name.endswith("/"):
                    out.append(Endpoint(inst.node_name, use.role, _resolve(name), use.ros_type))
    for ext in graph.external:
        for use in ext.uses:
            out.append(Endpoint(ext.name, use.role, _resolve(use.name), use.ros_type))
    return out


def check_graph(
    graph: Graph, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    """Problems of ``graph`` (empty when consistent)."""
    eps = endpoints(graph, overrides)
    problems: list[str] = []
    types: dict[str, set[str]] = {}
    for e in eps:
        types.setdefault(e.name, set()).add(e.ros_type)
    for name, ts in sorted(types.items()):
        if len(ts) > 1:
            problems.append(f"{name} is used with several types: {sorted(ts)}")
    offered = {e.name for e in eps if e.role in ("pub", "serve")}
    for e in eps:
        if e.role == "sub" and e.name not in offered:
            problems.append(f"{e.node} subscribes {e.name} but nothing publishes it")
        if e.role == "call" and e.name not in offered:
            problems.append(f"{e.node} calls {e.name} but nothing serves it")
    for e in eps:
        if e.role == "serve" and sum(1 for o in eps if o.role == "serve" and o.name == e.name) > 1:
            problems.append(f"{e.name} is served twice")
            break
    target_pubs = sorted(
        {
            e.node
            for e in eps
            if e.role == "pub" and e.ros_type == _POSE and e.name.endswith("/target_pose")
        }
    )
    if target_pubs and target_pubs != ["impedance_bridge"]:
        problems.append(
            f"target_pose must have the impedance bridge as only publisher, has {target_pubs}"
        )
    return problems


# -------------------------------------------------------------------- as ros2 launch runs it
ROS_PACKAGE = "robot_rl_ros"  # the ament_python package of the node executables


@dataclass(frozen=True)
class LaunchedNode:
    """One launch_ros ``Node`` action of a graph's launch file."""

    package: str
    executable: str
    name: str
    use_sim_time: bool


def launched_nodes(graph: Graph) -> list[LaunchedNode]:
    """The launch file's nodes of ``graph``, in order (the twin publishes /clock, so on a
    sim-time graph every node but the twin follows it)."""
    return [
        LaunchedNode(ROS_PACKAGE, i.kind, i.node_name, graph.sim_time and i.kind != "twin")
        for i in graph.nodes
    ]


def ros_argv(node: LaunchedNode, prefix: str, params_file: str, namespace: str = "/") -> list[str]:
    """The command line ``ros2 launch`` gives ``node``: the executable under
    ``<prefix>/lib/<package>/``, the node name (and namespace) remaps, the graph's
    parameter file, then ``use_sim_time``."""
    argv = [f"{prefix}/lib/{node.package}/{node.executable}", "--ros-args"]
    argv += ["-r", f"__node:={node.name}"]
    if namespace not in ("", "/"):
        argv += ["-r", f"__ns:={namespace}"]
    argv += ["--params-file", params_file, "-p", f"use_sim_time:={str(node.use_sim_time).lower()}"]
    return argv
