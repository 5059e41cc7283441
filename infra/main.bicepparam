// Parameters for infra/main.bicep. scripts/deploy.sh overrides the images (and, on its last pass, the
// scorer's blobs_extension key) on the command line; everything else is set here.
using 'main.bicep'

param namePrefix = 'coral'
param gpuProfileType = 'Consumption-GPU-NC8as-T4'
param scorerMinReplicas = 0
param scorerMaxReplicas = 10
param generatorMaxReplicas = 4
param syntheticRetentionDays = 90
param deployOpenAi = false
