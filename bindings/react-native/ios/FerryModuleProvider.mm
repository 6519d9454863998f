#import "FerryModuleProvider.h"

#include <memory>

#include "FerryTurboModule.h"

@implementation FerryModuleProvider

- (std::shared_ptr<facebook::react::TurboModule>)getTurboModule:
    (const facebook::react::ObjCTurboModule::InitParams &)params
{
  return std::make_shared<facebook::react::FerryTurboModule>(params.jsInvoker);
}

@end
