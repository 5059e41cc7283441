// Generator: Azure Functions on Container Apps (kind 'functionapp') on the serverless GPU workload profile,
// queue trigger on longtail-jobs. Scales 0 -> maxReplicas on the queue length, one job per replica:
// queueLength = GeneratorBatchSize (1) in the scale rule, and the host is told batchSize 1 / newBatchThreshold 0.
param location string
param tags object
param appName string
param environmentId string
param gpuProfileName string
param gpuProfileType string
param image string
param registryServer string
param identityId string
param identityClientId string
param dataAccountName string
param dataBlobEndpoint string
param dataQueueEndpoint string
param runtimeEndpoints object
param appInsightsConnectionString string

@description('Azure OpenAI endpoint for longtail introspection; empty turns it off. Keyless: the app\'s identity needs Cognitive Services OpenAI User.')
param openAiEndpoint string = ''

@description('Vision chat deployment on that endpoint; empty when introspection is off.')
param openAiDeployment string = ''

@description('Upper bound on GPU replicas (= concurrent jobs). Keep within the subscription\'s serverless GPU quota.')
@minValue(1)
param maxReplicas int = 4

var names = loadJsonContent('../../src/Coral.Pipeline/Names/coral-names.json')
var common = loadJsonContent('../app-settings.json')

// Per-replica size: the whole serverless GPU profile (one GPU per replica).
var gpuSizes = {
  'Consumption-GPU-NC8as-T4': {
    cpu: '8'
    memory: '56Gi'
  }
  'Consumption-GPU-NC24-A100': {
    cpu: '24'
    memory: '220Gi'
  }
}

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
    // One message per replica at a time, whatever the shared host.json says.
    name: 'AzureFunctionsJobHost__extensions__queues__batchSize'
    value: string(names.Defaults.GeneratorBatchSize)
  }
  {
    name: 'AzureFunctionsJobHost__extensions__queues__newBatchThreshold'
    value: '0'
  }
  {
    name: names.Settings.ClassifierPath
    value: string(names.Defaults.ClassifierPath)
  }
  {
    name: names.Settings.DiffusionPath
    value: string(names.Defaults.DiffusionPath)
  }
  {
    name: names.Settings.ImagesPerJob
    value: string(names.Defaults.ImagesPerJob)
  }
  // Longtail introspection: on when the endpoint is non-empty; Entra ID through AZURE_CLIENT_ID (no key setting).
  {
    name: names.Settings.OpenAiEndpoint
    value: openAiEndpoint
  }
  {
    name: names.Settings.OpenAiDeployment
    value: openAiDeployment
  }
  {
    name: names.Settings.IntrospectionTimeoutSeconds
    value: string(names.Defaults.IntrospectionTimeoutSeconds)
  }
  {
    name: names.Settings.IntrospectionMaxRetries
    value: string(names.Defaults.IntrospectionMaxRetries)
  }
  {
    name: names.Settings.StorageNetworkTimeoutSeconds
    value: string(names.Defaults.StorageNetworkTimeoutSeconds)
  }
]

// API 2026-03-02-preview: the first version with scale.allowScalingRuleOverride, which kind 'functionapp' needs
// before it accepts user-defined rules (otherwise the platform derives them from the triggers). Bicep 0.49's
// type library does not list the property yet, hence the BCP037 suppression below.
resource app 'Microsoft.App/containerApps@2026-03-02-preview' = {
  name: appName
  location: location
  tags: union(tags, { 'coral-role': 'generator' })
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    managedEnvironmentId: environmentId
    workloadProfileName: gpuProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      // Internal only (reachable inside the environment, never from the internet): work arrives through the
      // queue; the Functions host's admin endpoint stays reachable for the platform's function management.
      ingress: {
        external: false
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
          name: 'generator'
          image: image
          env: env
          resources: {
            cpu: json(gpuSizes[gpuProfileType].cpu)
            memory: gpuSizes[gpuProfileType].memory
          }
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        cooldownPeriod: 300
        pollingInterval: 15
        #disable-next-line BCP037
        allowScalingRuleOverride: true
        rules: [
          {
            name: 'job-queue-length'
            azureQueue: {
              accountName: dataAccountName
              queueName: names.Queues.LongtailJobs
              queueLength: names.Defaults.GeneratorBatchSize
              identity: identityId
            }
          }
        ]
      }
    }
  }
}

output appName string = app.name
