"""Resumable training loop: checkpoints every few minutes, logs progress, accounts training time."""
import json
import os
import signal
import sys
import time

import torch

RUNS = os.environ.get("FEWSTEP_RUNS", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "runs"))


def setup_threads():
    torch.set_num_threads(int(os.environ.get("FEWSTEP_THREADS", "1")))


class Run:
    """state: dict name -> object with state_dict()/load_state_dict()."""

    def __init__(self, name, state, total_steps, ckpt_every_s=180, log_every=50):
        self.dir = os.path.join(RUNS, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name, self.state, self.total = name, state, total_steps
        self.ckpt_path = os.path.join(self.dir, "ckpt.pt")
        self.step, self.elapsed = 0, 0.0
        self.ckpt_every_s, self.log_every = ckpt_every_s, log_every
        self.log = open(os.path.join(self.dir, "log.txt"), "a")
        if os.path.exists(self.ckpt_path):
            ck = torch.load(self.ckpt_path, map_location="cpu")
            for k, obj in state.items():
                obj.load_state_dict(ck[k])
            self.step, self.elapsed = ck["step"], ck["elapsed"]
            self.print(f"resumed {name} at step {self.step} ({self.elapsed:.0f}s trained)")
        self._t0 = self._start = time.time()
        self.max_s = float(os.environ.get("FEWSTEP_STAGE_MINUTES", "0")) * 60
        self._last_ckpt = time.time()
        self._acc = {}
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum, frame):
        self.print(f"signal {signum}: checkpointing at step {self.step}")
        self.save()
        sys.exit(1)

    @property
    def done(self):
        """finished: all steps, or a STOP file in the run folder, or FEWSTEP_STAGE_MINUTES of this process spent"""
        if self.step >= self.total:
            return True
        stop = os.path.exists(os.path.join(self.dir, "STOP")) or (
            self.max_s > 0 and time.time() - self._start > self.max_s)
        if stop:
            self.print(f"stopping early at step {self.step}/{self.total} (STOP file or time budget)")
            self.total = self.step
            self.save()
        return stop

    def print(self, msg):
        line = f"[{time.strftime('%H:%M:%S')}] {self.name}: {msg}"
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()

    def tick(self, **metrics):
        """call once per optimisation step, after the step"""
        self.step += 1
        now = time.time()
        self.elapsed += now - self._t0
        self._t0 = now
        for k, v in metrics.items():
            self._acc.setdefault(k, []).append(float(v))
        if self.step % self.log_every == 0 or self.step == self.total:
            avg = " ".join(f"{k}={sum(v) / len(v):.4f}" for k, v in self._acc.items())
            rate = self.elapsed / max(1, self.step)
            eta = (self.total - self.step) * rate
            self.print(f"step {self.step}/{self.total} {avg} ({rate * 1000:.0f} ms/step, eta {eta / 60:.1f} min)")
            self._acc = {}
        if now - self._last_ckpt > self.ckpt_every_s or self.step == self.total:
            self.save()

    def save(self):
        ck = {k: obj.state_dict() for k, obj in self.state.items()}
        ck["step"], ck["elapsed"] = self.step, self.elapsed
        torch.save(ck, self.ckpt_path + ".tmp")
        os.replace(self.ckpt_path + ".tmp", self.ckpt_path)
        self._last_ckpt = time.time()
        with open(os.path.join(self.dir, "status.json"), "w") as f:
            json.dump({"step": self.step, "total": self.total, "elapsed_s": self.elapsed}, f)
