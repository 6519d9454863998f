// Hands React Native the C++ TurboModule "Ferry" on iOS
// (package.json codegenConfig.ios.modulesProvider names this class).
#import <Foundation/Foundation.h>
#import <ReactCommon/RCTTurboModule.h>

NS_ASSUME_NONNULL_BEGIN

@interface FerryModuleProvider : NSObject <RCTModuleProvider>
@end

NS_ASSUME_NONNULL_END
