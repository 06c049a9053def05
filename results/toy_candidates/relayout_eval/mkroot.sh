#!/bin/bash
# mkroot.sh RUN STEP ROOT VARIANT: ROOT/VARIANT = RUN's files with the snapshot at STEP as its transformer
run=$1; step=$2; root=$3; variant=$4
mkdir -p $root/$variant
for f in config.json codec.safetensors encoders.safetensors meta.json codebook.safetensors; do
  [ -e $run/$f ] && ln -sf $(realpath $run/$f) $root/$variant/$f
done
ln -sf $(realpath $run/snapshots/step_$(printf %07d $step).safetensors) $root/$variant/transformer.safetensors
ls -la $root/$variant
