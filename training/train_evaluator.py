"""Stage 4: evaluator (attribute classifier on real images), exported to models/evaluator/model.onnx.
Trained on all attribute combinations (it judges the generators; the held-out pairs are held out from them).
Augmented with blur, noise and (when the VAE exists) VAE reconstructions so that it reads decoded images."""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import onnx
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fewstep import data, evaluator as E  # noqa: E402
from fewstep.loop import Run, setup_threads, RUNS  # noqa: E402
from fewstep.models import VAEEncoder, VAEDecoder, n_params  # noqa: E402


def blur(x, g):
    k = torch.tensor([1.0, 2.0, 1.0])
    k = (k[:, None] * k[None]) / 16
    y = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(3, 1, 3, 3).contiguous(), groups=3)
    m = (torch.rand(x.shape[0], 1, 1, 1, generator=g) < 0.5).float()
    return m * y + (1 - m) * x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--vae-run", default=os.path.join(RUNS, "vae"))
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "evaluator"))
    ap.add_argument("--run", default="evaluator")
    ap.add_argument("--styles", default="plain", help="comma list of data.STYLES rendered in equal shares; "
                    "'plain,ink' trains the style-aware evaluator that evaluate_lora.py scores the style rows with")
    args = ap.parse_args()
    setup_threads()
    torch.manual_seed(0)
    styles = [st for st in args.styles.split(",") if st]
    parts = [data.make_dataset(args.images // len(styles), seed=3 + 100 * k, heldout=None, style=st)
             for k, st in enumerate(styles)]
    imgs, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x_all, y_all = data.to_tensor(imgs), torch.from_numpy(labels)
    vae = None
    if os.path.exists(os.path.join(args.vae_run, "final.pt")):
        ck = torch.load(os.path.join(args.vae_run, "final.pt"))
        enc, dec = VAEEncoder(), VAEDecoder()
        enc.load_state_dict(ck["enc"])
        dec.load_state_dict(ck["dec"])
        vae = (enc.eval(), dec.eval())
    ev = E.Evaluator()
    opt = torch.optim.AdamW(ev.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.steps, pct_start=0.1)
    run = Run(args.run, {"ev": ev, "opt": opt, "sched": sched}, args.steps, log_every=100)
    run.print(f"evaluator {n_params(ev)} params, VAE augmentation: {vae is not None}")
    g = torch.Generator().manual_seed(run.step)
    while not run.done:
        ev.train()
        idx = torch.randint(0, len(x_all), (args.batch,), generator=g)
        x, y = x_all[idx], y_all[idx]
        if vae is not None:
            with torch.no_grad():
                m, lv = vae[0](x[: args.batch // 2])
                x = torch.cat([vae[1](m + torch.exp(0.5 * lv) * torch.randn_like(m)).clamp(-1, 1), x[args.batch // 2:]])
        x = blur(x, g) + 0.03 * torch.rand(1, generator=g) * torch.randn(x.shape, generator=g)
        logits, _ = ev(x)
        loss = sum(F.cross_entropy(lg, y[:, k], ignore_index=-1) for k, lg in enumerate(E.split_logits(logits)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run.tick(loss=loss.item())
    # held-out check on fresh real images (seen and held-out pairs) and on VAE reconstructions
    from fewstep import grammar
    res = {}
    for name, ho in (("seen", False), ("heldout", True)):
        im, lab, _ = data.make_dataset(1000, seed=4 if ho else 5, heldout=ho)
        rng_scenes = grammar.eval_prompts(0, ho, 0)
        xs = data.to_tensor(im)
        pred, _ = E.predict(ev, xs)
        lab = torch.from_numpy(lab)
        valid = lab >= 0
        res[name + "_attr_acc"] = float((pred == lab)[valid].float().mean())
        res[name + "_exact"] = float(((pred == lab) | ~valid).all(1).float().mean())
        if vae is not None:
            with torch.no_grad():
                rec = torch.cat([vae[1](vae[0](xs[i:i + 250])[0]).clamp(-1, 1) for i in range(0, 1000, 250)])
            pred, _ = E.predict(ev, rec)
            res[name + "_exact_vae_recon"] = float(((pred == lab) | ~valid).all(1).float().mean())
    run.print("evaluator accuracy on fresh real images: " + json.dumps(res))
    os.makedirs(args.out, exist_ok=True)
    torch.save({"ev": ev.state_dict(), "elapsed": run.elapsed, "accuracy": res}, os.path.join(run.dir, "final.pt"))
    ev.eval()
    path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(ev, (torch.zeros(2, 3, 64, 64),), path, input_names=["image"], output_names=["logits", "features"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
                      opset_version=17)
    onnx.checker.check_model(onnx.load(path))
    meta = E.labels_json()
    meta["accuracy_on_real_images"] = res
    with open(os.path.join(args.out, "labels.json"), "w") as f:
        json.dump(meta, f, indent=1)
    run.print(f"exported {path}")


if __name__ == "__main__":
    main()
