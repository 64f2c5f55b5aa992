"""The gui node of the graph (robot_rl.nodes.gui) on an inproc bus: built as the graph
builds it, it serves the page on loopback without a token and publishes the controlling
page's intervention as TeleopCommands on the topic the training graphs' actors listen to."""

from __future__ import annotations

from test_gui_server import CLIENT, SESSION, Page, state, with_pages

from robot_rl.bus.inproc import InprocBus
from robot_rl.bus.msgs.robot_rl_interfaces import TeleopCommand
from robot_rl.bus.qos import SENSOR_DATA
from robot_rl.nodes.graph import GRAPHS, NODE_KINDS, instance_config
from robot_rl.nodes.loop import NodeLoop
from robot_rl.nodes.run import build_node


def test_the_training_graphs_gui_node_publishes_the_operators_take_over() -> None:
    graph = GRAPHS["training"]
    actor_topic = instance_config(graph.instance("actor")).hil.teleop_topic
    cfg = instance_config(graph.instance("gui"), {"port": 0})
    assert (cfg.host, cfg.token, cfg.teleop_topic) == ("127.0.0.1", "", actor_topic)
    bus = InprocBus()
    loop = NodeLoop(bus)
    node = build_node(NODE_KINDS["gui"], bus, cfg, loop, "gui")
    got: list[TeleopCommand] = []
    bus.subscribe(actor_topic, TeleopCommand, got.append, SENSOR_DATA)
    try:
        assert node.url.startswith("http://127.0.0.1:") and "token" not in node.url

        async def hold(page: Page) -> None:
            await page.send({"type": "take"})
            for seq in (0, 1, 2):  # the key is pressed from the second state on
                await page.send(state(seq))
                await page.next("ack")

        with_pages(node.device, hold, (CLIENT, SESSION))
        loop.spin(timeout_s=0.2)  # within the page's 0.5 s silence bound
        held = [c for c in got if c.buttons & TeleopCommand.BUTTON_INTERVENE]
        assert held and held[-1].twist.linear.z > 0  # the page's "up"
    finally:
        node.close()
        bus.close()
