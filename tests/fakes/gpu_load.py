"""Real work on a real NVIDIA GPU, for the checks that need one (never run by CI: it has no GPU).

``gpu_load.py --gib N [--seconds S] [--via-child]`` allocates N GiB on ``cuda:0`` with PyTorch,
prints ``ready PID`` (the pid holding the memory) and then multiplies bf16 matrices, about half
of each 0.2 s, until S seconds have passed or it is killed. With ``--via-child`` the work runs in
a child process (the way a vLLM server's EngineCore does), and this process only waits for it:
the GPU monitor must label the child through its parent.

Exit 3 when PyTorch or a GPU is missing (the caller skips).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time


def work(gib: float, seconds: float) -> int:
    try:
        import torch
    except ImportError:
        print("no torch", flush=True)
        return 3
    if not torch.cuda.is_available():
        print("no cuda", flush=True)
        return 3
    held = torch.empty(int(gib * 1024**3), dtype=torch.uint8, device="cuda:0")
    held.fill_(1)
    a = torch.randn(4096, 4096, device="cuda:0", dtype=torch.bfloat16)
    b = torch.randn(4096, 4096, device="cuda:0", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    import os

    print(f"ready {os.getpid()}", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        busy_until = time.monotonic() + 0.1
        while time.monotonic() < busy_until:
            for _ in range(20):
                a @ b
            torch.cuda.synchronize()
        time.sleep(0.1)
    del held
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--via-child", action="store_true")
    args = ap.parse_args()
    if not args.via_child:
        return work(args.gib, args.seconds)
    # SIGTERM ends this process through SystemExit, so the child is stopped below, not orphaned
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    child = subprocess.Popen([sys.executable, __file__, "--gib", str(args.gib), "--seconds", str(args.seconds)])
    try:
        return child.wait()
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(10)


if __name__ == "__main__":
    sys.exit(main())
