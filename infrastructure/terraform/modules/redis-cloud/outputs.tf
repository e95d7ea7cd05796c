output "subscription_id" {
  description = "ID of the Redis Cloud subscription."
  value       = rediscloud_subscription.this.id
}

output "database_id" {
  description = "ID of the database in the subscription."
  value       = rediscloud_subscription_database.this.db_id
}

output "endpoint" {
  description = "Public endpoint of the database (host:port)."
  value       = rediscloud_subscription_database.this.public_endpoint
}

output "host" {
  description = "Host name of the database's public endpoint."
  value       = local.endpoint_parts[0]
}

output "port" {
  description = "Port of the database's public endpoint."
  value       = tonumber(local.endpoint_parts[1])
}

output "private_endpoint" {
  description = "Private endpoint of the database (host:port), reachable once the subscription is peered with the VPC."
  value       = rediscloud_subscription_database.this.private_endpoint
}

output "tls_enabled" {
  description = "Whether clients must connect with TLS."
  value       = var.enable_tls
}
