// Storage, identity-only (no shared keys, no SAS):
//  - the data account: every pipeline container and queue, named from coral-names.json;
//  - one runtime account per app for the Functions host (AzureWebJobsStorage: leases, host secrets, blob-trigger
//    receipts). Keeping host storage apart is what lets the data roles stay container- and queue-scoped: the
//    host needs Blob Data Owner on its account, and that account holds no pipeline data.
param location string
param tags object
param dataAccountName string
param scorerRuntimeAccountName string
param generatorRuntimeAccountName string

@description('Synthetic batches older than this many days are deleted by the lifecycle policy.')
@minValue(1)
param syntheticRetentionDays int = 90

@description('Synthetic batches older than this many days move to the cool tier.')
@minValue(1)
param syntheticCoolAfterDays int = 30

@description('Log Analytics workspace that receives the data account\'s storage logs.')
param workspaceId string

@description('Send the data account\'s blob and queue read, write and delete logs to Log Analytics (security baseline LT-4).')
param enableStorageDiagnostics bool = true

@description('Defender for Storage malware scanning on upload for the data account, where outside field images land (incoming/).')
param enableMalwareScanning bool = true

@description('Cap of malware scanning in GB per month (-1 = no cap).')
param malwareScanningCapGBPerMonth int = 5000

@description('Subnets allowed to reach the storage accounts (the apps\' subnet of a VNet-integrated environment). With none and no IP ranges the public endpoint stays open; data access is Entra-only either way.')
param allowedSubnetIds array = []

@description('Public IP ranges (CIDR) allowed through the storage firewall once it is restricted (for example operators who upload field images).')
param allowedIpRanges array = []

var names = loadJsonContent('../../src/Coral.Pipeline/Names/coral-names.json')
var restricted = !empty(allowedSubnetIds) || !empty(allowedIpRanges)
var subnetRules = [for id in allowedSubnetIds: { id: id, action: 'Allow' }]
var ipRules = [for range in allowedIpRanges: { value: range, action: 'Allow' }]

// Every container and queue in the names file lives in the data account. (Deployment is reserved for a
// package-based host; Container Apps pull images instead, so nothing writes it today.)

var accountProperties = {
  minimumTlsVersion: 'TLS1_2'
  supportsHttpsTrafficOnly: true
  allowBlobPublicAccess: false
  allowSharedKeyAccess: false
  allowCrossTenantReplication: false
  defaultToOAuthAuthentication: true
  publicNetworkAccess: 'Enabled'
  accessTier: 'Hot'
  networkAcls: {
    // Unrestricted by default (the apps are not VNet-integrated unless a subnet is given); data access is Entra-only.
    // Restricted: only the apps' subnet and the listed ranges; trusted Azure services (Event Grid, Defender) still pass.
    defaultAction: restricted ? 'Deny' : 'Allow'
    bypass: 'AzureServices'
    virtualNetworkRules: subnetRules
    ipRules: ipRules
  }
}

resource data 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: dataAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: accountProperties
}

resource dataBlobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: data
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for c in items(names.Containers): {
    parent: dataBlobs
    name: c.value
    properties: {
      publicAccess: 'None'
    }
  }
]

resource dataQueueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: data
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for q in items(names.Queues): {
    parent: dataQueueService
    name: q.value
  }
]

// Old synthetic batches: cool after N days, delete after M days (reviewed images are copied to curated/).
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = {
  parent: data
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-old-synthetic-batches'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${names.Containers.Synthetic}/'
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: syntheticCoolAfterDays
                }
                delete: {
                  daysAfterModificationGreaterThan: syntheticRetentionDays
                }
              }
            }
          }
        }
        {
          name: 'expire-stale-staging'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${names.Containers.Staging}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 2
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    containers
  ]
}

// Who read, wrote or deleted what in the data account, for incident response.
var storageLogs = [
  { category: 'StorageRead', enabled: true }
  { category: 'StorageWrite', enabled: true }
  { category: 'StorageDelete', enabled: true }
]

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (enableStorageDiagnostics) {
  name: 'storage-logs-to-log-analytics'
  scope: dataBlobs
  properties: {
    workspaceId: workspaceId
    logs: storageLogs
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (enableStorageDiagnostics) {
  name: 'storage-logs-to-log-analytics'
  scope: dataQueueService
  properties: {
    workspaceId: workspaceId
    logs: storageLogs
    metrics: [{ category: 'Transaction', enabled: true }]
  }
}

// Field images come from outside: every upload to the data account is scanned for malware.
resource malwareScanning 'Microsoft.Security/defenderForStorageSettings@2022-12-01-preview' = if (enableMalwareScanning) {
  name: 'current'
  scope: data
  properties: {
    isEnabled: true
    overrideSubscriptionLevelSettings: true
    malwareScanning: {
      onUpload: {
        isEnabled: true
        capGBPerMonth: malwareScanningCapGBPerMonth
      }
    }
    sensitiveDataDiscovery: {
      isEnabled: false
    }
  }
}

resource scorerRuntime 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: scorerRuntimeAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: accountProperties
}

resource generatorRuntime 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: generatorRuntimeAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: accountProperties
}

output dataAccountId string = data.id
output dataAccountName string = data.name
output dataBlobEndpoint string = data.properties.primaryEndpoints.blob
output dataQueueEndpoint string = data.properties.primaryEndpoints.queue
output scorerRuntimeAccountName string = scorerRuntime.name
output scorerRuntimeEndpoints object = {
  blob: scorerRuntime.properties.primaryEndpoints.blob
  queue: scorerRuntime.properties.primaryEndpoints.queue
  table: scorerRuntime.properties.primaryEndpoints.table
}
output generatorRuntimeAccountName string = generatorRuntime.name
output generatorRuntimeEndpoints object = {
  blob: generatorRuntime.properties.primaryEndpoints.blob
  queue: generatorRuntime.properties.primaryEndpoints.queue
  table: generatorRuntime.properties.primaryEndpoints.table
}
