"""Media renderers: real video and audio files for completed tasks."""
