// CoralFunctions: everything for one resource group.
//   scorer    - Functions on Container Apps (CPU), Event Grid-source blob trigger on incoming/
//   generator - Functions on Container Apps, serverless GPU profile, queue trigger on longtail-jobs, 0..N replicas
// Identity-only: user-assigned identity per app, container/queue-scoped data roles, shared-key access disabled,
// no listKeys/SAS/connection strings. Names come from src/Coral.Pipeline/Names/coral-names.json.
// Deploy with scripts/deploy.sh (see docs/operations.md).
targetScope = 'resourceGroup'

@description('Region for every resource. Serverless GPUs exist only in some regions (see docs/operations.md).')
param location string = resourceGroup().location

@description('Short lowercase prefix for resource names.')
@minLength(2)
@maxLength(8)
param namePrefix string = 'coral'

param tags object = {
  app: 'coral-functions'
}

@description('Serverless GPU profile for the generator: NVIDIA T4 (default) or A100.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Scorer image. The default is a public placeholder so the first deployment succeeds before deploy.sh has pushed the real image.')
param scorerImage string = 'mcr.microsoft.com/azure-functions/dotnet8-quickstart-demo:1.0'

@description('Generator image (see scorerImage).')
param generatorImage string = 'mcr.microsoft.com/azure-functions/dotnet8-quickstart-demo:1.0'

@minValue(0)
param scorerMinReplicas int = 0
@minValue(1)
param scorerMaxReplicas int = 10

@description('Upper bound on GPU replicas, i.e. concurrent generation jobs.')
@minValue(1)
param generatorMaxReplicas int = 4

@description('The scorer Functions host\'s blobs_extension system key. Empty on the first pass (no subscription yet); deploy.sh reads it from the running app and passes it here.')
@secure()
param scorerBlobsExtensionKey string = ''

@description('Days before synthetic batches are deleted by the lifecycle policy.')
@minValue(1)
param syntheticRetentionDays int = 90

@description('Deploy an Azure OpenAI account (keyless) for introspection.')
param deployOpenAi bool = false

@description('Subnet of a VNet-integrated Container Apps environment; when set, the storage firewall admits only it (and allowedIpRanges).')
param appsSubnetId string = ''

@description('Public IP ranges (CIDR) allowed through the storage firewall when appsSubnetId is set.')
param storageAllowedIpRanges array = []

@description('Blob and queue read/write/delete logs of the data account to Log Analytics.')
param enableStorageDiagnostics bool = true

@description('Defender for Storage malware scanning on upload for the data account.')
param enableMalwareScanning bool = true

// Names shared with the code: containers, queues, settings, function names.
var names = loadJsonContent('../src/Coral.Pipeline/Names/coral-names.json')
var token = toLower(uniqueString(resourceGroup().id, namePrefix))
var gpuProfileName = 'gpu'
var compactPrefix = toLower(replace(namePrefix, '-', ''))

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    tags: tags
    scorerIdentityName: 'id-${namePrefix}-scorer'
    generatorIdentityName: 'id-${namePrefix}-generator'
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    workspaceName: 'log-${namePrefix}-${token}'
    appInsightsName: 'appi-${namePrefix}-${token}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    dataAccountName: take('${compactPrefix}data${token}', 24)
    scorerRuntimeAccountName: take('${compactPrefix}hs${token}', 24)
    generatorRuntimeAccountName: take('${compactPrefix}hg${token}', 24)
    syntheticRetentionDays: syntheticRetentionDays
    workspaceId: monitoring.outputs.workspaceId
    enableStorageDiagnostics: enableStorageDiagnostics
    enableMalwareScanning: enableMalwareScanning
    allowedSubnetIds: empty(appsSubnetId) ? [] : [appsSubnetId]
    allowedIpRanges: empty(appsSubnetId) ? [] : storageAllowedIpRanges
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    tags: tags
    registryName: take('${compactPrefix}acr${token}', 50)
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: location
    tags: tags
    environmentName: 'cae-${namePrefix}-${token}'
    workspaceId: monitoring.outputs.workspaceId
    gpuProfileName: gpuProfileName
    gpuProfileType: gpuProfileType
    infrastructureSubnetId: appsSubnetId
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  params: {
    location: location
    tags: tags
    topicName: 'evgt-${namePrefix}-${token}'
    dataAccountId: storage.outputs.dataAccountId
  }
}

module openAi 'modules/openai.bicep' = if (deployOpenAi) {
  name: 'openai'
  params: {
    location: location
    tags: tags
    accountName: 'oai-${namePrefix}-${token}'
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  params: {
    dataAccountName: storage.outputs.dataAccountName
    runtimeAccounts: {
      scorer: storage.outputs.scorerRuntimeAccountName
      generator: storage.outputs.generatorRuntimeAccountName
    }
    registryName: registry.outputs.registryName
    appInsightsName: monitoring.outputs.appInsightsName
    principals: {
      scorer: identity.outputs.scorerPrincipalId
      generator: identity.outputs.generatorPrincipalId
      eventGrid: eventGrid.outputs.topicPrincipalId
    }
    openAiAccountName: deployOpenAi ? openAi!.outputs.accountName : ''
  }
}

module scorer 'modules/scorer-app.bicep' = {
  name: 'scorer'
  params: {
    location: location
    tags: tags
    appName: 'ca-${namePrefix}-scorer'
    environmentId: environment.outputs.environmentId
    image: scorerImage
    registryServer: registry.outputs.loginServer
    identityId: identity.outputs.scorerId
    identityClientId: identity.outputs.scorerClientId
    dataBlobEndpoint: storage.outputs.dataBlobEndpoint
    dataQueueEndpoint: storage.outputs.dataQueueEndpoint
    runtimeEndpoints: storage.outputs.scorerRuntimeEndpoints
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    minReplicas: scorerMinReplicas
    maxReplicas: scorerMaxReplicas
  }
  // The image pull and the host's storage need the roles first.
  dependsOn: [
    rbac
  ]
}

module generator 'modules/generator-app.bicep' = {
  name: 'generator'
  params: {
    location: location
    tags: tags
    appName: 'ca-${namePrefix}-generator'
    environmentId: environment.outputs.environmentId
    gpuProfileName: gpuProfileName
    gpuProfileType: gpuProfileType
    image: generatorImage
    registryServer: registry.outputs.loginServer
    identityId: identity.outputs.generatorId
    identityClientId: identity.outputs.generatorClientId
    dataAccountName: storage.outputs.dataAccountName
    dataBlobEndpoint: storage.outputs.dataBlobEndpoint
    dataQueueEndpoint: storage.outputs.dataQueueEndpoint
    runtimeEndpoints: storage.outputs.generatorRuntimeEndpoints
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    maxReplicas: generatorMaxReplicas
    openAiEndpoint: deployOpenAi ? openAi!.outputs.endpoint : ''
    openAiDeployment: deployOpenAi ? openAi!.outputs.deploymentName : ''
  }
  dependsOn: [
    rbac
  ]
}

module eventSubscription 'modules/eventgrid-subscription.bicep' = if (!empty(scorerBlobsExtensionKey)) {
  name: 'eventgrid-subscription'
  params: {
    topicName: eventGrid.outputs.topicName
    subscriptionName: 'scorer-incoming-blob-created'
    scorerFqdn: scorer.outputs.fqdn
    blobsExtensionKey: scorerBlobsExtensionKey
    dataAccountId: storage.outputs.dataAccountId
  }
  // Dead-lettering needs the topic identity's role on the dead-letter container.
  dependsOn: [
    rbac
  ]
}

output resourceGroupName string = resourceGroup().name
output location string = location
output dataStorageAccountName string = storage.outputs.dataAccountName
output dataBlobEndpoint string = storage.outputs.dataBlobEndpoint
output dataQueueEndpoint string = storage.outputs.dataQueueEndpoint
output registryName string = registry.outputs.registryName
output registryLoginServer string = registry.outputs.loginServer
output containerAppsEnvironmentName string = environment.outputs.environmentName
output gpuProfileType string = environment.outputs.gpuProfileType
output scorerAppName string = scorer.outputs.appName
output scorerFqdn string = scorer.outputs.fqdn
output scorerFunctionName string = names.FunctionNames.Score
output generatorAppName string = generator.outputs.appName
output scorerIdentityClientId string = identity.outputs.scorerClientId
output generatorIdentityClientId string = identity.outputs.generatorClientId
output eventGridTopicName string = eventGrid.outputs.topicName
output logAnalyticsWorkspaceName string = monitoring.outputs.workspaceName
output appInsightsName string = monitoring.outputs.appInsightsName
output openAiEndpoint string = deployOpenAi ? openAi!.outputs.endpoint : ''
