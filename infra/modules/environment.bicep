// Container Apps environment with workload profiles: 'Consumption' (CPU, scorer) and one serverless GPU
// profile (generator; one GPU per replica). Logs go to Log Analytics through a diagnostic setting, so no
// workspace shared key is ever read.
param location string
param tags object
param environmentName string
param workspaceId string

@description('Serverless GPU profile for the generator: NVIDIA T4 (default) or A100.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Name of the GPU workload profile inside the environment (the generator app references it).')
param gpuProfileName string

@description('Subnet for a VNet-integrated environment (empty = not integrated); the storage firewall then admits only it.')
param infrastructureSubnetId string = ''


resource env 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    vnetConfiguration: empty(infrastructureSubnetId) ? null : {
      infrastructureSubnetId: infrastructureSubnetId
      internal: false
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuProfileType
      }
    ]
    zoneRedundant: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: env
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output environmentId string = env.id
output environmentName string = env.name
output defaultDomain string = env.properties.defaultDomain
output gpuProfileName string = gpuProfileName
output gpuProfileType string = gpuProfileType
