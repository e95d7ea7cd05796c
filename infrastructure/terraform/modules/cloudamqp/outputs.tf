output "instance_id" {
  description = "ID of the CloudAMQP instance."
  value       = cloudamqp_instance.this.id
}

output "host" {
  description = "Host name of the instance (AMQPS on 5671)."
  value       = cloudamqp_instance.this.host
}

output "vhost" {
  description = "Virtual host of the instance."
  value       = cloudamqp_instance.this.vhost
}

output "url" {
  description = "AMQP URL of the instance, with its credentials."
  value       = cloudamqp_instance.this.url
  sensitive   = true
}
