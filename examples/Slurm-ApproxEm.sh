#!/usr/bin/env bash
# Invoke-ApproxEm on a Slurm cluster: the same PowerShell script a user runs on a laptop, started once per MPI rank.
#   sbatch examples/Slurm-ApproxEm.sh            (edit the #SBATCH lines and RUN_SCRIPT for your site)
# Each rank scores a contiguous share of every E-step's patches and builds a share of the M-step's normal equations; the parts
# are added in rank order (the run is deterministic for a given rank count) and rank 0's map is broadcast. Only rank 0 writes
# files and the checkpoint; -Resume continues from it with any rank count (resubmit the job after a time limit).
# For a data set larger than one node's memory, read the micrographs in RUN_SCRIPT with Import-Micrograph -Path $files
# -RankShare: each rank then reads only its share of the files, and Invoke-ApproxEm joins the ranks' patch sets.
# Needs on every node: the .NET SDK with this repository's tools restored (dotnet tool restore), the built module, and
# OpenMPI 4 (Debian: apt-get install openmpi-bin libopenmpi-dev) with FFTW and OpenBLAS.
#SBATCH --job-name=cryoemps-em
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=8
#SBATCH --cpus-per-task=4
#SBATCH --time=04:00:00
#SBATCH --output=cryoemps-em-%j.log
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
RUN_SCRIPT=${RUN_SCRIPT:-examples/Demo.ps1}
export CRYOEMPS_MODULE=${CRYOEMPS_MODULE:-$PWD/out/CryoEmPS/CryoEmPS.psd1}
# One BLAS thread per rank: Invoke-ApproxEm -ThrottleLimit decides the threads (give it --cpus-per-task).
export OPENBLAS_NUM_THREADS=1
if command -v srun >/dev/null && [ -n "${SLURM_JOB_ID:-}" ]; then
  # srun starts the ranks through PMIx (OpenMPI 4 built with it, as Debian's is).
  srun --mpi=pmix dotnet pwsh -NoProfile -File "$RUN_SCRIPT" "$@"
else
  # Outside Slurm (a workstation): the same script on 2 ranks.
  mpirun --oversubscribe -np "${RANKS:-2}" dotnet pwsh -NoProfile -File "$RUN_SCRIPT" "$@"
fi
