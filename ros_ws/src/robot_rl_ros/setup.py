"""ament_python package of the robot_rl node executables (one per node, same names)."""

from glob import glob

from setuptools import setup

PACKAGE = "robot_rl_ros"
NODES = ("twin", "impedance_bridge", "reset", "camera", "actor", "learner", "gui")

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=[PACKAGE],
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="robot_rl maintainers",
    maintainer_email="robot_rl@example.com",
    description="Thin rclpy executables of the robot_rl nodes, with launch and parameter files",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "twin = robot_rl_ros.twin:main",
            "impedance_bridge = robot_rl_ros.impedance_bridge:main",
            "reset = robot_rl_ros.reset:main",
            "camera = robot_rl_ros.camera:main",
            "actor = robot_rl_ros.actor:main",
            "learner = robot_rl_ros.learner:main",
            "gui = robot_rl_ros.gui:main",
        ],
    },
)
