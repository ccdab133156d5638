"""Pre-processing: runs once before the jobs, gets -exp_dir and its extra arguments."""

import argparse
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("-exp_dir", "--experiment_dir", default="experiments")
parser.add_argument("-data_dir", "--data_dir", default="data")
args = parser.parse_args()
os.makedirs(args.data_dir, exist_ok=True)
with open(os.path.join(args.data_dir, "targets.json"), "w") as handle:
    json.dump({"start_loss": 5.0, "prepared_for": args.experiment_dir}, handle)
print("prepared", os.path.join(args.data_dir, "targets.json"))
