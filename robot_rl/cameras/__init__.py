"""robot_rl.cameras: camera drivers behind one small interface (`base.Camera`).

``realsense``: Intel RealSense via pyrealsense2 (serial selection, resolution/fps/exposure,
stamped frames, reconnection, playback of recordings). ``recording``: write recordings
with pyrealsense2's software device, for tests and replays without hardware.
"""
