"""Post-processing: runs once after the jobs; summarises every seed's final loss."""

import argparse
import glob
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("-exp_dir", "--experiment_dir", default="experiments")
parser.add_argument("-figures_dir", "--figures_dir", default="figures")
args = parser.parse_args()
finals = {}
for path in sorted(glob.glob(os.path.join(args.experiment_dir, "*", "logs", "seed_*.jsonl"))):
    with open(path) as handle:
        lines = [json.loads(line) for line in handle if line.strip()]
    finals[os.path.relpath(path, args.experiment_dir)] = lines[-1]["stats"]["loss"]
os.makedirs(args.figures_dir, exist_ok=True)
with open(os.path.join(args.figures_dir, "final_losses.json"), "w") as handle:
    json.dump(finals, handle, indent=1, sort_keys=True)
print("summarised", len(finals), "seeds")
