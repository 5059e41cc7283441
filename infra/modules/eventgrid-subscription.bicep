// BlobCreated under incoming/ -> the scorer's blobs-extension webhook (Event Grid-source blob trigger).
// The webhook URL must carry the Functions host's 'blobs_extension' system key. The key is created and held
// by the scorer's Functions host; deploy.sh reads it after the app is up and passes it as a secure parameter
// (never stored in the repo or in deployment history, and no listKeys in the template).
param topicName string
param subscriptionName string
param scorerFqdn string
@secure()
param blobsExtensionKey string
param dataAccountId string

var names = loadJsonContent('../../src/Coral.Pipeline/Names/coral-names.json')

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        // Secure: the only secret part is the @secure() key; ARM keeps resource bodies out of deployment history
        // and Event Grid never returns endpointUrl. The rule cannot see through string interpolation.
        #disable-next-line use-secure-value-for-secure-inputs
        endpointUrl: 'https://${scorerFqdn}/runtime/webhooks/blobs?functionName=Host.Functions.${names.FunctionNames.Score}&code=${blobsExtensionKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${names.Containers.Incoming}/blobs/'
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: dataAccountId
          blobContainerName: names.Containers.EventGridDeadLetter
        }
      }
    }
  }
}

output subscriptionName string = subscription.name
