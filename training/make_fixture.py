"""Random-weight pipeline with exactly the interfaces of the real models (for app tests).

usage: /usr/bin/python3 training/make_fixture.py --out fixtures/generated/tiny [--lcm] [--seed 0]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import grammar, schedule  # noqa: E402
from fewstep.export import export_pipeline  # noqa: E402
from fewstep.models import TextEncoder, UNet, VAEDecoder, COND_DIM  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--lcm", action="store_true", help="unet takes timestep_cond [B,256]; LCMScheduler")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    te = TextEncoder(len(grammar.VOCAB), dim=32, layers=1, heads=2)
    unet = UNet(ctx_dim=32, ch=(16, 32), cond_dim=COND_DIM if args.lcm else None)
    dec = VAEDecoder(ch=(8, 8, 16, 16), scaling_factor=0.5)
    if args.lcm:
        sched = schedule.lcm_config(50)
        few = {"default_steps": 4, "guidance_scale": 4.0, "sampler": "lcm", "allowed_steps": [1, 2, 4, 8],
               "description": "random-weight LCM fixture (tests only)"}
    else:
        sched = schedule.ddim_config("epsilon", "trailing")
        few = {"default_steps": 4, "guidance_scale": 3.0, "sampler": "ddim", "allowed_steps": [1, 2, 4, 8, 16, 32, 50],
               "description": "random-weight fixture (tests only)"}
    export_pipeline(args.out, te, unet, dec, sched, few, lcm=args.lcm)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
