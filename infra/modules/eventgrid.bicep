// System topic on the data account. Its system-assigned identity writes dead-lettered events (role in
// rbac.bicep); the subscription itself is in eventgrid-subscription.bicep because it needs the scorer running.
param location string
param tags object
param topicName string
param dataAccountId string

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: dataAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output topicName string = topic.name
output topicPrincipalId string = topic.identity.principalId
