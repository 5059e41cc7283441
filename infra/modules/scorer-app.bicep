// Scorer: Azure Functions on Container Apps (kind 'functionapp'), CPU, in the environment's Consumption profile.
// Blob trigger on incoming/{name} with Source = EventGrid: Event Grid calls the blobs extension webhook over
// the app's HTTPS ingress (subscription in eventgrid-subscription.bicep). Why not Flex Consumption: see
// docs/operations.md, "Hosting decision".
param location string
param tags object
param appName string
param environmentId string
param image string
param registryServer string
param identityId string
param identityClientId string
param dataBlobEndpoint string
param dataQueueEndpoint string
param runtimeEndpoints object
param appInsightsConnectionString string
@minValue(0)
param minReplicas int = 0
@minValue(1)
param maxReplicas int = 10
param cpu string = '2'
param memory string = '4Gi'

var names = loadJsonContent('../../src/Coral.Pipeline/Names/coral-names.json')
var common = loadJsonContent('../app-settings.json')

// Identity-based connections only: service URIs + 'managedidentity' + the app's own client id. No keys.
var env = [
  {
    name: 'FUNCTIONS_WORKER_RUNTIME'
    value: common.workerRuntime
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: runtimeEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: runtimeEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: runtimeEndpoints.table
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: common.credential
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: names.Settings.StorageBlobServiceUri
    value: dataBlobEndpoint
  }
  {
    name: names.Settings.StorageQueueServiceUri
    value: dataQueueEndpoint
  }
  {
    name: names.Settings.StorageCredential
    value: common.credential
  }
  {
    name: names.Settings.StorageClientId
    value: identityClientId
  }
  {
    // DefaultAzureCredential (Coral.Pipeline) picks the user-assigned identity from this.
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: names.Settings.ScoreThreshold
    value: string(names.Defaults.ScoreThreshold)
  }
  {
    name: names.Settings.ClassifierPath
    value: string(names.Defaults.ClassifierPath)
  }
  {
    // The scorer runs the exported ONNX graph (no libtorch in its image).
    name: names.Settings.ScoringRuntime
    value: string(names.Defaults.ScoringRuntime)
  }
  {
    // Decoded bytes all concurrent scorings of a replica may hold at once (the replica has 4 GiB).
    name: names.Settings.DecodeBudgetMegabytes
    value: string(names.Defaults.DecodeBudgetMegabytes)
  }
  {
    name: names.Settings.StorageNetworkTimeoutSeconds
    value: string(names.Defaults.StorageNetworkTimeoutSeconds)
  }
  {
    // Dynamic batching: concurrent invocations of a replica share one forward pass of up to this many images...
    name: names.Settings.ScorerBatchSize
    value: string(names.Defaults.ScorerBatchSize)
  }
  {
    // ...run once the oldest image has waited this long, if the batch is not full by then.
    name: names.Settings.ScorerBatchWaitMilliseconds
    value: string(names.Defaults.ScorerBatchWaitMilliseconds)
  }
]

resource app 'Microsoft.App/containerApps@2025-07-01' = {
  name: appName
  location: location
  tags: union(tags, { 'coral-role': 'scorer' })
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    managedEnvironmentId: environmentId
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        // Event Grid delivers BlobCreated events to the blobs extension webhook over HTTPS.
        external: true
        targetPort: 80
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'scorer'
          image: image
          env: env
          resources: {
            cpu: json(cpu)
            memory: memory
          }
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output appName string = app.name
output fqdn string = app.properties.configuration.ingress.fqdn
