"""Live probing pieces shared by the watcher and the prober: frame comparison, the device lock, the
evidence writer. Nothing here waits on disk while a frame is on its way to a tap."""
