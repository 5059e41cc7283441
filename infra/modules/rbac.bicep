// Every role assignment of the deployment, and nothing else. Each grant names who gets it, the narrowest scope
// that works (one container or one queue where possible) and why; tests/Coral.Infra.Tests checks the compiled
// result against the least-privilege set per identity.
param dataAccountName string

@description('Functions host storage account per app: { scorer: name, generator: name }.')
param runtimeAccounts object

param registryName string
param appInsightsName string

@description('Principal ids: { scorer, generator, eventGrid }.')
param principals object

@description('Azure OpenAI account name, or empty when it is not deployed.')
param openAiAccountName string = ''

var names = loadJsonContent('../../src/Coral.Pipeline/Names/coral-names.json')

// Built-in role definition ids (same in every tenant).
var roles = {
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  queueMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  openAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
}

// Data account, container scope.
var containerGrants = [
  {
    who: 'scorer'
    container: names.Containers.Incoming
    role: roles.blobDataReader
    why: 'read uploaded images (blob trigger)'
  }
  {
    who: 'scorer'
    container: names.Containers.Scores
    role: roles.blobDataContributor
    why: 'write score records'
  }
  {
    who: 'scorer'
    container: names.Containers.Staging
    role: roles.blobDataContributor
    why: 'temp-then-commit writes (AtomicBlobWriter)'
  }
  {
    who: 'generator'
    container: names.Containers.Models
    role: roles.blobDataReader
    why: 'read model checkpoints (today baked into the image; the role lets ops stage new ones in models/)'
  }
  {
    who: 'generator'
    container: names.Containers.Incoming
    role: roles.blobDataReader
    why: 'read the source image of a job'
  }
  {
    who: 'generator'
    container: names.Containers.Synthetic
    role: roles.blobDataContributor
    why: 'write synthetic batches'
  }
  {
    who: 'generator'
    container: names.Containers.Manifests
    role: roles.blobDataContributor
    why: 'write manifests and review pages'
  }
  {
    who: 'generator'
    container: names.Containers.Staging
    role: roles.blobDataContributor
    why: 'temp-then-commit writes and job locks'
  }
  {
    who: 'eventGrid'
    container: names.Containers.EventGridDeadLetter
    role: roles.blobDataContributor
    why: 'dead-letter undeliverable BlobCreated events'
  }
]

// Data account, queue scope.
var queueGrants = [
  {
    who: 'scorer'
    queue: names.Queues.LongtailJobs
    role: roles.queueMessageSender
    why: 'enqueue long-tail jobs (queue output binding)'
  }
  {
    who: 'scorer'
    queue: names.Queues.BlobTriggerPoison
    role: roles.queueDataContributor
    why: 'blob trigger moves failed blobs here (create-if-missing + add)'
  }
  {
    who: 'generator'
    queue: names.Queues.LongtailJobs
    role: roles.queueDataContributor
    why: 'queue trigger: get, delete and update visibility (messages/write) on long runs; KEDA reads the length'
  }
  {
    who: 'generator'
    queue: names.Queues.LongtailJobsPoison
    role: roles.queueMessageSender
    why: 'queue trigger moves a message here after maxDequeueCount'
  }
]

// Functions host storage (AzureWebJobsStorage), account scope: each app only on its own runtime account,
// which holds no pipeline data.
var runtimeGrants = [
  {
    who: 'scorer'
    role: roles.blobDataOwner
    why: 'host leases, keys, blob-trigger receipts'
  }
  {
    who: 'scorer'
    role: roles.queueDataContributor
    why: 'host queues (Event Grid blob trigger dispatch)'
  }
  {
    who: 'scorer'
    role: roles.tableDataContributor
    why: 'host diagnostic events'
  }
  {
    who: 'generator'
    role: roles.blobDataOwner
    why: 'host leases and keys'
  }
  {
    who: 'generator'
    role: roles.queueDataContributor
    why: 'host queues'
  }
  {
    who: 'generator'
    role: roles.tableDataContributor
    why: 'host diagnostic events'
  }
]

var registryGrants = [
  {
    who: 'scorer'
    role: roles.acrPull
    why: 'pull the scorer image'
  }
  {
    who: 'generator'
    role: roles.acrPull
    why: 'pull the generator image'
  }
]

var insightsGrants = [
  {
    who: 'scorer'
    role: roles.monitoringMetricsPublisher
    why: 'Entra-authenticated telemetry (local auth is off)'
  }
  {
    who: 'generator'
    role: roles.monitoringMetricsPublisher
    why: 'Entra-authenticated telemetry (local auth is off)'
  }
]

var openAiGrants = empty(openAiAccountName)
  ? []
  : [
      {
        who: 'generator'
        role: roles.openAiUser
        why: 'introspection calls to Azure OpenAI'
      }
    ]

resource dataAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: dataAccountName
}

resource dataBlobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' existing = {
  parent: dataAccount
  name: 'default'
}

resource dataQueueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' existing = {
  parent: dataAccount
  name: 'default'
}

resource grantContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' existing = [
  for g in containerGrants: {
    parent: dataBlobService
    name: g.container
  }
]

resource containerAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (g, i) in containerGrants: {
    name: guid(grantContainers[i].id, principals[g.who], g.role)
    scope: grantContainers[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', g.role)
      principalId: principals[g.who]
      principalType: 'ServicePrincipal'
      description: '${g.who}: ${g.why}'
    }
  }
]

resource grantQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' existing = [
  for g in queueGrants: {
    parent: dataQueueService
    name: g.queue
  }
]

resource queueAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (g, i) in queueGrants: {
    name: guid(grantQueues[i].id, principals[g.who], g.role)
    scope: grantQueues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', g.role)
      principalId: principals[g.who]
      principalType: 'ServicePrincipal'
      description: '${g.who}: ${g.why}'
    }
  }
]

resource runtimeAccountsForGrants 'Microsoft.Storage/storageAccounts@2025-01-01' existing = [
  for g in runtimeGrants: {
    name: runtimeAccounts[g.who]
  }
]

resource runtimeAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (g, i) in runtimeGrants: {
    name: guid(runtimeAccountsForGrants[i].id, principals[g.who], g.role)
    scope: runtimeAccountsForGrants[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', g.role)
      principalId: principals[g.who]
      principalType: 'ServicePrincipal'
      description: '${g.who}: ${g.why}'
    }
  }
]

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource registryAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for g in registryGrants: {
    name: guid(registry.id, principals[g.who], g.role)
    scope: registry
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', g.role)
      principalId: principals[g.who]
      principalType: 'ServicePrincipal'
      description: '${g.who}: ${g.why}'
    }
  }
]

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource insightsAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for g in insightsGrants: {
    name: guid(appInsights.id, principals[g.who], g.role)
    scope: appInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', g.role)
      principalId: principals[g.who]
      principalType: 'ServicePrincipal'
      description: '${g.who}: ${g.why}'
    }
  }
]

resource openAi 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = if (!empty(openAiAccountName)) {
  name: empty(openAiAccountName) ? 'none' : openAiAccountName
}

resource openAiAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for g in openAiGrants: {
    name: guid(openAi.id, principals[g.who], g.role)
    scope: openAi
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', g.role)
      principalId: principals[g.who]
      principalType: 'ServicePrincipal'
      description: '${g.who}: ${g.why}'
    }
  }
]

output assignmentCount int = length(containerGrants) + length(queueGrants) + length(runtimeGrants) + length(registryGrants) + length(insightsGrants) + length(openAiGrants)
