variable "instance_name" {
  description = "Name of the CloudAMQP instance (srvthreds-<environment>)."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, staging, prod), used in tags and firewall descriptions."
  type        = string
}

variable "region" {
  description = "AWS region of the instance, e.g. us-west-2."
  type        = string
}

variable "plan" {
  description = "CloudAMQP plan, e.g. bunny-1 (one dedicated node) or bunny-3 (three nodes); shared plans (lemur, tiger) have no firewall."
  type        = string
}

variable "rabbitmq_version" {
  description = "RabbitMQ version, or null for the plan's default."
  type        = string
  default     = null
}

variable "allowed_cidrs" {
  description = "Source addresses admitted by the firewall (dedicated plans only); empty creates no firewall."
  type        = list(string)
  default     = []
}

variable "extra_tags" {
  description = "Tags added to the instance besides srvthreds and the environment name."
  type        = list(string)
  default     = []
}
